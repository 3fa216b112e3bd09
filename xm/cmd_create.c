/* xm new, create, config-convert: VM configuration files (XML of
 * create.dtd, SXP, Python-style; config/vmdesc.h reads them) made into VMs
 * through the plan of XenAPI calls the library derives. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/vmdesc.h"
#include "xm/cmds.h"
#include "xm/plan.h"
#include "xm/xm.h"

#define DEFAULT_PATH ".:/etc/xen"

/* The config file as named, else in each directory of path. */
static char *find_config(const char *name, const char *path)
{
    if (strchr(name, '/') || access(name, R_OK) == 0)
        return xm_strdup(name);
    char *dirs = xm_strdup(path), *save = NULL;
    char *found = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = xm_printf("%s/%s", *d ? d : ".", name);
        if (access(p, R_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(dirs);
    return found ? found : xm_strdup(name);
}

static void print_diag(const vmd_diag *w, bool quiet)
{
    for (size_t i = 0; !quiet && i < w->n; i++)
        fprintf(stderr, "Warning: %s\n", w->v[i]);
}

static int new_or_create(int argc, char **argv, bool create)
{
    bool console = false, paused = false, quiet = false, dry = false, xmldry = false, skipdtd = false;
    const char *path = DEFAULT_PATH, *defconfig = NULL, *sxpfile = NULL;
    const xm_optdef defs[] = { /* create's own first */
                               { 'c', "console_autoconnect", &console, NULL },
                               { 0, "console", &console, NULL },
                               { 'p', "paused", &paused, NULL },
                               { 'q', "quiet", &quiet, NULL },
                               { 0, "path", NULL, &path },
                               { 'f', "defconfig", NULL, &defconfig },
                               { 'F', "config", NULL, &sxpfile },
                               { 'n', "dryrun", &dry, NULL },
                               { 'x', "xmldryrun", &xmldry, NULL },
                               { 's', "skipdtd", &skipdtd, NULL },
                               { 0, NULL, NULL, NULL }
    };
    if (!xm_options(argc, argv, false, create ? defs : defs + 3))
        return xm_usage(argv[0], "bad option");
    vmd_vars vars = { 0 };
    vmd_err err = { 0 };
    char ebuf[1024];
    int rc = XM_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        if (!strchr(argv[i], '=')) {
            if (defconfig || sxpfile) {
                vmd_vars_free(&vars);
                return xm_usage(argv[0], "two configuration files: '%s' and '%s'",
                                defconfig ? defconfig : sxpfile, argv[i]);
            }
            defconfig = argv[i];
        } else if (!vmd_vars_add(&vars, argv[i], &err)) {
            vmd_vars_free(&vars);
            return xm_usage(argv[0], "%s", vmd_err_str(&err, ebuf, sizeof(ebuf)));
        }
    }
    if (!defconfig && !sxpfile) {
        vmd_vars_free(&vars);
        return xm_usage(argv[0], "no configuration file given");
    }
    char *file = sxpfile ? xm_strdup(sxpfile) : find_config(defconfig, path);
    vmd_diag warnings = { 0 };
    vmd_parse_opts po = { .format = sxpfile ? VMD_FMT_SXP : VMD_FMT_AUTO, .vars = &vars,
                          .skip_validation = skipdtd, .warnings = &warnings };
    vmdesc d;
    if (!vmd_parse_file(file, &po, &d, &err)) {
        rc = xm_err(XM_EXIT_FAIL, "%s", vmd_err_str(&err, ebuf, sizeof(ebuf)));
        goto out_vars;
    }
    print_diag(&warnings, quiet);
    if (dry || xmldry) {
        char *text = NULL;
        if (!vmd_write(&d, xmldry ? VMD_FMT_XML : VMD_FMT_SXP, &text, NULL, &err))
            rc = xm_err(XM_EXIT_FAIL, "%s", vmd_err_str(&err, ebuf, sizeof(ebuf)));
        else
            fputs(text, stdout);
        free(text);
        goto out_desc;
    }
    vmd_plan plan;
    vmd_plan_opts pl = { .transient = create };
    if (!vmd_plan_build(&d, &pl, &plan, &err)) {
        rc = xm_err(XM_EXIT_FAIL, "%s", vmd_err_str(&err, ebuf, sizeof(ebuf)));
        goto out_desc;
    }
    xen_session *s = xm_session();
    xen_vm vm = xm_plan_run(s, &plan);
    vmd_plan_free(&plan);
    if (!vm) {
        rc = XM_EXIT_FAIL;
        goto out_desc;
    }
    if (create) {
        if (!xen_vm_start(s, vm, paused)) {
            rc = xm_fail(s);
            /* a run-once VM whose start failed may be gone already */
            if (!xen_vm_destroy(s, vm))
                xen_session_clear_error(s);
        } else {
            int64_t domid = -1;
            if (!xen_vm_get_domid(s, &domid, vm))
                xen_session_clear_error(s);
            if (!quiet)
                printf("Started domain %s (id=%" PRId64 ")\n", d.name, domid);
            if (console) {
                fflush(stdout);
                rc = xm_console_attach(s, vm, quiet);
            }
        }
    }
    xen_vm_free(vm);
out_desc:
    vmdesc_free(&d);
out_vars:
    vmd_diag_free(&warnings);
    vmd_vars_free(&vars);
    free(file);
    return rc;
}

int xm_cmd_new(int argc, char **argv) { return new_or_create(argc, argv, false); }
int xm_cmd_create(int argc, char **argv) { return new_or_create(argc, argv, true); }

int xm_cmd_config_convert(int argc, char **argv)
{
    const char *from_name = NULL, *to_name = NULL;
    bool skipdtd = false;
    const xm_optdef defs[] = { { 'f', "from", NULL, &from_name },
                               { 't', "to", NULL, &to_name },
                               { 's', "skipdtd", &skipdtd, NULL },
                               { 0, NULL, NULL, NULL } };
    if (!xm_options(argc, argv, false, defs))
        return xm_usage("config-convert", "bad option");
    vmd_format from = VMD_FMT_AUTO, to = VMD_FMT_AUTO;
    if (from_name && (from = vmd_format_from_name(from_name)) == VMD_FMT_AUTO)
        return xm_usage("config-convert", "unknown format '%s' (xml, sxp, cfg)", from_name);
    if (to_name && (to = vmd_format_from_name(to_name)) == VMD_FMT_AUTO)
        return xm_usage("config-convert", "unknown format '%s' (xml, sxp, cfg)", to_name);
    if (to == VMD_FMT_AUTO)
        return xm_usage("config-convert", "say which format to write with --to");
    if (argc - optind < 1)
        return xm_usage("config-convert", "no configuration file given");
    vmd_vars vars = { 0 };
    vmd_err err = { 0 };
    char ebuf[1024];
    for (int i = optind + 1; i < argc; i++)
        if (!vmd_vars_add(&vars, argv[i], &err)) {
            vmd_vars_free(&vars);
            return xm_usage("config-convert", "%s", vmd_err_str(&err, ebuf, sizeof(ebuf)));
        }
    vmd_diag warnings = { 0 };
    vmd_parse_opts po = { .format = from, .vars = &vars, .skip_validation = skipdtd, .warnings = &warnings };
    vmdesc d;
    int rc = XM_EXIT_OK;
    if (!vmd_parse_file(argv[optind], &po, &d, &err)) {
        rc = xm_err(XM_EXIT_FAIL, "%s", vmd_err_str(&err, ebuf, sizeof(ebuf)));
    } else {
        char *text = NULL;
        if (!vmd_write(&d, to, &text, &warnings, &err))
            rc = xm_err(XM_EXIT_FAIL, "%s", vmd_err_str(&err, ebuf, sizeof(ebuf)));
        else
            fputs(text, stdout);
        free(text);
        print_diag(&warnings, false);
        vmdesc_free(&d);
    }
    vmd_diag_free(&warnings);
    vmd_vars_free(&vars);
    return rc;
}
