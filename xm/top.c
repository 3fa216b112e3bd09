/* xm top: a live table of the VMs (xentop's columns that XenAPI has),
 * redrawn when the server reports a change to a VM or its metrics
 * (event.from on VM and VM_metrics), at most once per --delay. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "xm/cmds.h"
#include "xm/xm.h"

static void draw(const xm_vms *v, bool screen, unsigned frame)
{
    if (screen)
        printf("\033[H\033[2J");
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t running = 0, paused = 0, halted = 0, other = 0;
    for (size_t i = 0; i < v->n; i++) {
        switch (v->rows[i].vm->power_state) {
        case XEN_VM_POWER_STATE_RUNNING: running++; break;
        case XEN_VM_POWER_STATE_PAUSED: paused++; break;
        case XEN_VM_POWER_STATE_HALTED: halted++; break;
        default: other++; break;
        }
    }
    printf("xm top - %02d:%02d:%02d  %zu VMs: %zu running, %zu paused, %zu halted, %zu suspended  "
           "(update %u)\n", tm.tm_hour, tm.tm_min, tm.tm_sec, v->n, running, paused, halted, other, frame);
    xm_table *t = xm_table_new(8, "lrlrrrrr");
    xm_table_add(t, "NAME", "ID", "STATE", "CPU(%)", "MEM(MiB)", "MAXMEM(MiB)", "VCPUS", "UPTIME(s)");
    for (size_t i = 0; i < v->n; i++) {
        const xm_vmrow *r = &v->rows[i];
        char *cells[8];
        char st[7];
        xm_state_string(r, st);
        bool live = xm_vm_live(r->vm);
        double util = 0;
        const xen_int_float_map *u = r->metrics ? r->metrics->vcpus_utilisation : NULL;
        for (size_t k = 0; live && u && k < u->size; k++)
            util += u->contents[k].val;
        cells[0] = xm_strdup(r->vm->name_label);
        cells[1] = live ? xm_printf("%" PRId64, r->vm->domid) : xm_strdup("-");
        cells[2] = xm_strdup(*st ? st : xen_vm_power_state_to_string(r->vm->power_state));
        cells[3] = xm_printf("%.1f", util * 100);
        cells[4] = xm_printf("%" PRId64, live && r->metrics ? r->metrics->memory_actual / (1024 * 1024) : 0);
        cells[5] = xm_printf("%" PRId64, r->vm->memory_static_max / (1024 * 1024));
        cells[6] = xm_printf("%" PRId64, live && r->metrics ? r->metrics->vcpus_number : 0);
        cells[7] = live && r->metrics && r->metrics->start_time
                       ? xm_printf("%lld", (long long)(now - r->metrics->start_time)) : xm_strdup("-");
        xm_table_addv(t, cells);
    }
    xm_table_print(t);
    xm_table_free(t);
    if (screen)
        printf("\n(q to quit)");
    fflush(stdout);
}

int xm_cmd_top(int argc, char **argv)
{
    static const struct option lo[] = {
        { "delay", required_argument, NULL, 'd' }, { "iterations", required_argument, NULL, 'i' },
        { "batch", no_argument, NULL, 'b' }, { NULL, 0, NULL, 0 } };
    double delay = 1.0;
    int64_t iterations = -1;
    bool batch = !isatty(STDOUT_FILENO);
    int c;
    while ((c = getopt_long(argc, argv, "d:i:b", lo, NULL)) != -1) {
        switch (c) {
        case 'd': {
            char *end;
            delay = strtod(optarg, &end);
            if (*end || !(delay >= 0.1 && delay <= 3600))
                return xm_usage("top", "the delay is 0.1 to 3600 seconds, not '%s'", optarg);
            break;
        }
        case 'i':
            if (!xm_parse_int(optarg, &iterations) || iterations < 1)
                return xm_usage("top", "the iterations are a positive number, not '%s'", optarg);
            break;
        case 'b': batch = true; break;
        default: return xm_usage("top", "bad option");
        }
    }
    if (optind < argc)
        return xm_usage("top", "unexpected argument '%s'", argv[optind]);
    xen_session *s = xm_session();
    struct termios old;
    bool keys = !batch && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (keys) {
        struct termios raw = old;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    xen_string_set *classes = xen_string_set_alloc(2);
    classes->contents[0] = xm_strdup("VM");
    classes->contents[1] = xm_strdup("VM_metrics");
    char *token = xm_strdup("");
    int rc = XM_EXIT_OK;
    unsigned frame = 0;
    bool dirty = true;
    for (;;) {
        if (dirty) {
            xm_vms v;
            if (!xm_vms_fetch(s, &v)) {
                rc = XM_EXIT_FAIL;
                break;
            }
            draw(&v, !batch, ++frame);
            xm_vms_free(&v);
            if (batch)
                putchar('\n');
            dirty = false;
            if (iterations > 0 && frame >= iterations)
                break;
        }
        /* wait for changes; a key press is looked at between waits */
        xen_event_batch *b = NULL;
        if (!xen_event_from(s, &b, classes, token, delay)) {
            rc = xm_fail(s);
            break;
        }
        free(token);
        token = xm_strdup(b->token);
        dirty = b->events && b->events->size > 0;
        xen_event_batch_free(b);
        if (keys) {
            char ch;
            struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
            if (poll(&p, 1, 0) > 0 && read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
                break;
        }
        if (dirty) {
            /* the delay is the longest wait and the shortest redraw interval */
            struct timespec ts = { (time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9) };
            nanosleep(&ts, NULL);
        }
    }
    if (keys) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        putchar('\n');
    }
    free(token);
    xen_string_set_free(classes);
    return rc;
}
