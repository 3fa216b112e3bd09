/* A libxen client in the historical style: the program supplies its own
 * libcurl transport (call_func), logs in, looks a VM up by UUID, prints its
 * record and starts it.
 *
 *   xen_example URL USER PASSWORD [VM-UUID]
 *
 * URL is http://host:port/ or unix:///path/to/xen-api.sock.  Without a
 * VM-UUID the first VM that is not the control domain is used.  A VM that the
 * program started is shut down again at the end, so it can be run repeatedly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <xen/api/xen_all.h>

static const char *url;

typedef struct {
    xen_result_func func;
    void *handle;
} xen_comms;

static size_t
write_func(void *ptr, size_t size, size_t nmemb, void *userdata)
{
    xen_comms *comms = userdata;
    size_t n = size * nmemb;
    return comms->func(ptr, n, comms->handle) ? n : 0;
}

static int
call_func(const void *data, size_t len, void *user_handle,
          void *result_handle, xen_result_func result_func)
{
    (void)user_handle;
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;

    xen_comms comms = { .func = result_func, .handle = result_handle };
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: text/xml");

    if (strncmp(url, "unix://", 7) == 0) {
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, url + 7);
        curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/");
    } else {
        curl_easy_setopt(curl, CURLOPT_URL, url);
    }
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &write_func);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &comms);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);

    CURLcode result = curl_easy_perform(curl);

    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
}

static void
print_error(xen_session *session)
{
    fprintf(stderr, "Error: %d", session->error_description_count);
    for (int i = 0; i < session->error_description_count; i++)
        fprintf(stderr, " %s", session->error_description[i]);
    fprintf(stderr, "\n");
}

static void
print_map(const char *what, xen_string_string_map *map)
{
    printf("  %s:", what);
    for (size_t i = 0; i < map->size; i++)
        printf(" %s=%s", map->contents[i].key, map->contents[i].val);
    printf("\n");
}

int
main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s URL USER PASSWORD [VM-UUID]\n", argv[0]);
        return 2;
    }
    url = argv[1];
    const char *username = argv[2], *password = argv[3];
    int rc = 1;

    curl_global_init(CURL_GLOBAL_ALL);
    xen_init();

    xen_session *session =
        xen_session_login_with_password(call_func, NULL, username, password);
    if (!session->ok) {
        print_error(session);
        goto out;
    }

    char *uuid = NULL;
    if (argc == 5) {
        uuid = strdup(argv[4]);
    } else {
        struct xen_vm_set *vms;
        if (!xen_vm_get_all(session, &vms)) {
            print_error(session);
            goto out;
        }
        for (size_t i = 0; i < vms->size && !uuid; i++) {
            bool dom0;
            if (xen_vm_get_is_control_domain(session, &dom0, vms->contents[i]) && !dom0)
                xen_vm_get_uuid(session, &uuid, vms->contents[i]);
        }
        xen_vm_set_free(vms);
        if (!uuid) {
            fprintf(stderr, "no VM to work with\n");
            goto out;
        }
    }

    xen_vm vm;
    if (!xen_vm_get_by_uuid(session, &vm, uuid)) {
        print_error(session);
        free(uuid);
        goto out;
    }
    free(uuid);

    xen_vm_record *vm_record;
    if (!xen_vm_get_record(session, &vm_record, vm)) {
        print_error(session);
        xen_vm_free(vm);
        goto out;
    }

    printf("VM %s\n", vm_record->uuid);
    printf("  name_label: %s\n", vm_record->name_label);
    printf("  power_state: %s\n", xen_vm_power_state_to_string(vm_record->power_state));
    printf("  memory_static_max: %lld\n", (long long)vm_record->memory_static_max);
    printf("  VCPUs_max: %lld\n", (long long)vm_record->vcpus_max);
    printf("  actions_after_crash: %s\n",
           xen_on_crash_behaviour_to_string(vm_record->actions_after_crash));
    printf("  PV_kernel: %s\n", vm_record->pv_kernel);
    printf("  VBDs: %zu, VIFs: %zu\n", vm_record->vbds->size, vm_record->vifs->size);
    printf("  resident_on: %s\n", vm_record->resident_on->u.handle);
    print_map("other_config", vm_record->other_config);

    bool started = false;
    if (vm_record->power_state == XEN_VM_POWER_STATE_HALTED) {
        if (!xen_vm_start(session, vm, false)) {
            print_error(session);
            goto free_vm;
        }
        started = true;
    }
    enum xen_vm_power_state state;
    if (!xen_vm_get_power_state(session, &state, vm)) {
        print_error(session);
        goto free_vm;
    }
    printf("  power_state now: %s\n", xen_vm_power_state_to_string(state));
    if (started && !xen_vm_hard_shutdown(session, vm)) {
        print_error(session);
        goto free_vm;
    }
    rc = 0;

free_vm:
    xen_vm_record_free(vm_record);
    xen_vm_free(vm);
out:
    xen_session_logout(session);
    xen_fini();
    curl_global_cleanup();
    return rc;
}
