/* The baseline of bench/xm: the least a libxen client does to list the VMs
 * (log in on the local socket, VM.get_all_records, VM_metrics.get_all_records,
 * free, log out), without printing.  Usage: fetch_records unix:///PATH */
#include <stdio.h>

#include <xen/api/xen_all.h>
#include <xen/api/xen_transport.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s URL\n", argv[0]);
        return 2;
    }
    xen_init();
    xen_session *s = xen_session_login_url(argv[1], "root", "");
    int rc = 1;
    xen_vm_xen_vm_record_map *vms = NULL;
    xen_vm_metrics_xen_vm_metrics_record_map *m = NULL;
    if (s && s->ok && xen_vm_get_all_records(s, &vms) && xen_vm_metrics_get_all_records(s, &m)) {
        printf("%zu VMs, %zu metrics\n", vms->size, m->size);
        rc = 0;
    } else {
        fprintf(stderr, "fetch_records: %s\n",
                s && s->error_description_count ? s->error_description[0] : "cannot log in");
    }
    xen_vm_xen_vm_record_map_free(vms);
    xen_vm_metrics_xen_vm_metrics_record_map_free(m);
    xen_session_logout(s);
    xen_fini();
    return rc;
}
