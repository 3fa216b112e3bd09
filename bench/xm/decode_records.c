/* The client side of bench/xm alone: libxen decodes a saved
 * VM.get_all_records reply (no socket, no server), so its cost can be
 * counted with callgrind independently of the machine's load.
 * Usage: decode_records REPLY.xml [ROUNDS]   (default 1 round)
 * The reply is the body of a VM.get_all_records answer, e.g. from
 *   curl --unix-socket SOCK -d @call.xml http://localhost/ > REPLY.xml */
#define _GNU_SOURCE   /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/api/xen_all.h>

typedef struct canned {
    const char *reply;
    size_t len;
} canned;

static const char login_reply[] =
    "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
    "<member><name>Status</name><value><string>Success</string></value></member>"
    "<member><name>Value</name><value><string>OpaqueRef:bench</string></value></member>"
    "</struct></value></param></params></methodResponse>";

/* The login gets its canned answer, every other call the saved reply. */
static int call_canned(const void *data, size_t len, void *user_handle,
                       void *result_handle, xen_result_func result_func)
{
    const canned *c = user_handle;
    bool login = len > 0 && memmem(data, len, "session.login_with_password", 27) != NULL;
    const char *r = login ? login_reply : c->reply;
    size_t n = login ? sizeof login_reply - 1 : c->len;
    return result_func(r, n, result_handle) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s REPLY.xml [ROUNDS]\n", argv[0]);
        return 2;
    }
    int rounds = argc == 3 ? atoi(argv[2]) : 1;
    FILE *fp = fopen(argv[1], "rb");
    if (!fp) {
        perror(argv[1]);
        return 2;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        n = fread(buf + len, 1, cap - len, fp);
        len += n;
    } while (n > 0);
    fclose(fp);

    canned c = { buf, len };
    xen_init();
    xen_session *s = xen_session_login_with_password(call_canned, &c, "root", "");
    int rc = 0;
    for (int i = 0; i < rounds && rc == 0; i++) {
        xen_vm_xen_vm_record_map *vms = NULL;
        if (xen_vm_get_all_records(s, &vms)) {
            if (i == 0)
                printf("%zu VM records\n", vms->size);
        } else {
            fprintf(stderr, "decode_records: %s\n",
                    s->error_description_count ? s->error_description[0] : "failed");
            rc = 1;
        }
        xen_vm_xen_vm_record_map_free(vms);
    }
    s->ok = false;   /* no logout call to the canned "server" */
    xen_session_logout(s);
    xen_fini();
    free(buf);
    return rc;
}
