/* Source compatibility with programs written for Xen's historical libxen:
 * the idioms of its test program (records built on the stack with
 * designated initialisers and string literals, record_opts pointing at
 * handles, sets read through ->contents[i], session getters taking the
 * session twice) must compile unchanged and put the right things on the
 * wire.  A fake call_func answers by method name. */
#include "config.h"

#include "tests/lib/xtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/api/xen_all.h>

static char *last_request;

#define S(v) "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>" \
    "<member><name>Status</name><value>Success</value></member>" \
    "<member><name>Value</name><value>" v "</value></member></struct></value></param>" \
    "</params></methodResponse>"

static const struct { const char *method, *reply; } answers[] = {
    { "session.login_with_password", S("<string>s-1</string>") },
    { "session.get_this_host", S("<string>host-1</string>") },
    { "host.get_software_version",
      S("<struct><member><name>Xen</name><value>4.4</value></member></struct>") },
    { "SR.get_by_name_label", S("<array><data><value>sr-1</value></data></array>") },
    { "VM.create", S("<string>vm-1</string>") },
    { "VDI.create", S("<string>vdi-1</string>") },
    { "VBD.create", S("<string>vbd-1</string>") },
    { "console.create", S("<string>con-1</string>") },
    { "VM.get_record", S("<struct><member><name>uuid</name><value>u-vm-1</value></member>"
                         "<member><name>resident_on</name><value>host-1</value></member>"
                         "<member><name>power_state</name><value>Halted</value></member>"
                         "</struct>") },
    { "VM.start", S("") },
    { "session.logout", S("") },
};

static int call_func(const void *data, size_t len, void *user_handle,
                     void *result_handle, xen_result_func result_func)
{
    (void)user_handle;
    free(last_request);
    last_request = strndup(data, len);
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        char tag[128];
        snprintf(tag, sizeof tag, "<methodName>%s</methodName>", answers[i].method);
        if (strstr(last_request, tag))
            return result_func(answers[i].reply, strlen(answers[i].reply), result_handle) ? 0 : 1;
    }
    return 42;
}

static void print_error(xen_session *session)
{
    fprintf(stderr, "Error: %d", session->error_description_count);
    for (int i = 0; i < session->error_description_count; i++)
        fprintf(stderr, " %s", session->error_description[i]);
    fprintf(stderr, "\n");
}

int main(void)
{
    xen_init();
    xen_session *session = xen_session_login_with_password(call_func, NULL, "root", "pw");
    CHECK(session->ok);

    /* the session getters take the session twice */
    xen_host host;
    CHECK(xen_session_get_this_host(session, &host, session));
    CHECK(strstr(last_request, "<value><string>s-1</string></value></param><param><value><string>s-1") != NULL);
    xen_string_string_map *versions;
    CHECK(xen_host_get_software_version(session, &versions, host));
    CHECK(versions->size == 1 && strcmp(versions->contents[0].key, "Xen") == 0);
    xen_string_string_map_free(versions);
    xen_host_free(host);

    /* a VM built on the stack, as the historical test program did */
    xen_string_string_map *vcpus_params = xen_string_string_map_alloc(1);
    vcpus_params->contents[0].key = strdup("weight");
    vcpus_params->contents[0].val = strdup("300");
    xen_vm_record vm_record = {
        .name_label = "NewVM",
        .name_description = "New VM Description",
        .user_version = 1,
        .is_a_template = false,
        .memory_static_max = 256,
        .memory_dynamic_max = 256,
        .memory_dynamic_min = 128,
        .memory_static_min = 128,
        .vcpus_params = vcpus_params,
        .vcpus_max = 4,
        .vcpus_at_startup = 2,
        .actions_after_shutdown = XEN_ON_NORMAL_EXIT_DESTROY,
        .actions_after_reboot = XEN_ON_NORMAL_EXIT_RESTART,
        .actions_after_crash = XEN_ON_CRASH_BEHAVIOUR_PRESERVE,
        .pv_bootloader = "pygrub",
        .pv_kernel = "/boot/vmlinuz",
        .pv_ramdisk = "",
        .pv_args = "",
        .pv_bootloader_args = "",
        .hvm_boot_policy = "",
    };
    xen_vm vm;
    CHECK(xen_vm_create(session, &vm, &vm_record));
    if (!session->ok)
        print_error(session);
    CHECK(strstr(last_request, "<name>VCPUs_params</name><value><struct><member><name>weight</name>"
                 "<value><string>300</string>") != NULL);
    CHECK(strstr(last_request, "<name>PV_bootloader</name><value><string>pygrub</string>") != NULL);
    xen_string_string_map_free(vcpus_params);

    xen_sr_set *srs;
    CHECK(xen_sr_get_by_name_label(session, &srs, "Local") && srs->size == 1);
    xen_sr_record_opt sr_record = { .u.handle = srs->contents[0] };
    xen_vdi_record vdi0_record = {
        .name_label = "MyRootFS",
        .name_description = "MyRootFS description",
        .sr = &sr_record,
        .virtual_size = (INT64_C(1) << 21),
        .type = XEN_VDI_TYPE_SYSTEM,
        .sharable = false,
        .read_only = false,
    };
    xen_vdi vdi0;
    CHECK(xen_vdi_create(session, &vdi0, &vdi0_record));
    CHECK(strstr(last_request, "<name>SR</name><value><string>sr-1</string>") != NULL);
    CHECK(strstr(last_request, "<name>virtual_size</name><value><string>2097152</string>") != NULL);

    xen_vm_record_opt vm_record_opt = { .u.handle = vm };
    xen_vdi_record_opt vdi0_record_opt = { .u.handle = vdi0 };
    xen_vbd_record vbd0_record = {
        .vm = &vm_record_opt,
        .vdi = &vdi0_record_opt,
        .device = "xvda1",
        .mode = XEN_VBD_MODE_RW,
        .bootable = 1,
    };
    xen_vbd vbd0;
    CHECK(xen_vbd_create(session, &vbd0, &vbd0_record));
    CHECK(strstr(last_request, "<name>VM</name><value><string>vm-1</string>") != NULL);
    CHECK(strstr(last_request, "<name>VDI</name><value><string>vdi-1</string>") != NULL);
    CHECK(strstr(last_request, "<name>mode</name><value><string>RW</string>") != NULL);
    CHECK(strstr(last_request, "<name>bootable</name><value><boolean>1</boolean>") != NULL);

    xen_console_record console_record = {
        .protocol = XEN_CONSOLE_PROTOCOL_RFB,
        .vm = &vm_record_opt,
    };
    xen_console console;
    CHECK(xen_console_create(session, &console, &console_record));
    /* RO/run in 1.0, but xend's console.create reads them: sent when set */
    CHECK(strstr(last_request, "<name>protocol</name><value><string>rfb</string>") != NULL);
    CHECK(strstr(last_request, "<name>VM</name><value><string>vm-1</string>") != NULL);
    CHECK(strstr(last_request, "<name>location</name>") == NULL);

    xen_vm_record *rec;
    CHECK(xen_vm_get_record(session, &rec, vm));
    CHECK(strcmp(rec->uuid, "u-vm-1") == 0);
    CHECK(strcmp((char *)rec->resident_on->u.handle, "host-1") == 0);
    CHECK(strcmp(xen_vm_power_state_to_string(rec->power_state), "Halted") == 0);
    xen_vm_record_free(rec);

    CHECK(xen_vm_start(session, vm, false));
    CHECK(strstr(last_request, "<methodName>VM.start</methodName>") != NULL);

    xen_console_free(console);
    xen_vbd_free(vbd0);
    xen_vdi_free(vdi0);
    xen_sr_set_free(srs);
    xen_vm_free(vm);
    xen_session_logout(session);
    CHECK(strstr(last_request, "<methodName>session.logout</methodName>") != NULL);
    free(last_request);

    /* xen_common.h's UUID helpers: bytes and back, in lower case; not a UUID: false. */
    char *bytes = NULL, *text = NULL;
    CHECK(xen_uuid_string_to_bytes("0A1b2c3d-4e5f-6071-8293-a4B5c6d7e8f9", &bytes));
    CHECK(bytes && (unsigned char)bytes[0] == 0x0a && (unsigned char)bytes[15] == 0xf9);
    CHECK(xen_uuid_bytes_to_string(bytes, &text));
    CHECK(text && strcmp(text, "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9") == 0);
    xen_uuid_bytes_free(bytes);
    xen_uuid_free(text);
    CHECK(!xen_uuid_string_to_bytes("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f", &bytes) && !bytes);
    CHECK(!xen_uuid_string_to_bytes("0a1b2c3d-4e5f-6071-8293+a4b5c6d7e8f9", &bytes) && !bytes);
    CHECK(!xen_uuid_string_to_bytes("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8fg", &bytes) && !bytes);
    xen_fini();
    return xtest_done();
}
