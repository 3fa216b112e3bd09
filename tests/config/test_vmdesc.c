/* The VM config formats (config/vmdesc.h), data-driven:
 *
 *   tests/config/NAME.{cfg,sxp,xml}  -> NAME.calls   the XenAPI calls (text);
 *                                                    several formats of one
 *                                                    NAME must agree
 *   NAME.vars (optional)             VAR=VALUE overrides, one a line; a line
 *                                    "transient" plans an xm create
 *   tests/config/bad/NAME.EXT        -> NAME.err     the exact error, which
 *                                                    must name file:line
 *
 * Every good file also goes round: file -> description -> each format ->
 * description (equal when the writer warned of nothing, and writing it
 * again gives the same text).  XEND_REGENERATE=1 rewrites the .calls and
 * .err files from what the code does now (review the diff!).
 * Unit checks of the API pieces follow.  Prints 'N passed, M failed'. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/vmdesc.h"
#include "tests/lib/xtest.h"

static bool regen;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(99);
    }
}

/* Shows the first differing line of two texts. */
static void show_diff(const char *what, const char *want, const char *got)
{
    int line = 1;
    const char *a = want, *b = got;
    while (*a && *a == *b) {
        if (*a == '\n')
            line++;
        a++, b++;
    }
    while (a > want && a[-1] != '\n')
        a--, b--;
    xtest_diag("%s differs at line %d: want: %.*s | got: %.*s", what, line,
            (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

static const char *ext_of(const char *f)
{
    const char *d = strrchr(f, '.');
    return d ? d + 1 : "";
}

static bool load_vars(const char *path, vmd_vars *vars, bool *transient)
{
    char *t = slurp(path, NULL);
    if (!t)
        return true;
    bool ok = true;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        if (!*line || *line == '#')
            continue;
        if (!strcmp(line, "transient")) {
            *transient = true;
            continue;
        }
        vmd_err e = { 0 };
        if (!vmd_vars_add(vars, line, &e)) {
            fprintf(stderr, "%s: bad line '%s'\n", path, line);
            ok = false;
        }
    }
    free(t);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir with one of the config extensions. */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    *n = 0;
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *x = ext_of(e->d_name);
        if (strcmp(x, "cfg") && strcmp(x, "sxp") && strcmp(x, "xml"))
            continue;
        v = realloc(v, (*n + 1) * sizeof(*v));
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, *n, sizeof(*v), cmp_str);
    return v;
}

static const vmd_format fmts[] = { VMD_FMT_CFG, VMD_FMT_SXP, VMD_FMT_XML };

/* file -> description -> format f -> description. */
static void round_trip(const char *name, const vmdesc *d1)
{
    for (int i = 0; i < 3; i++) {
        vmd_diag w = { 0 };
        vmd_err e = { 0 };
        char *t1 = NULL, *t2 = NULL, why[300] = "";
        bool ok = vmd_write(d1, fmts[i], &t1, &w, &e);
        CHECKF(ok, "%s: write %s: %s", name, vmd_format_name(fmts[i]), e.msg);
        if (!ok)
            continue;
        vmdesc d2, d3;
        vmd_parse_opts o = { .format = fmts[i], .filename = "roundtrip" };
        char eb[600];
        ok = vmd_parse_buffer(t1, strlen(t1), &o, &d2, &e);
        CHECKF(ok, "%s -> %s does not parse back: %s\n%s", name, vmd_format_name(fmts[i]),
              vmd_err_str(&e, eb, sizeof(eb)), t1);
        if (ok) {
            if (w.n == 0) {
                bool eq = vmdesc_equal(d1, &d2, why, sizeof(why));
                CHECKF(eq, "%s -> %s -> description differs: %s\n%s", name,
                      vmd_format_name(fmts[i]), why, t1);
            }
            vmd_diag w2 = { 0 };
            CHECKF(vmd_write(&d2, fmts[i], &t2, &w2, &e), "%s: second write", name);
            CHECKF(t2 && !strcmp(t1, t2), "%s: writing %s is not stable", name,
                  vmd_format_name(fmts[i]));
            if (t2 && strcmp(t1, t2))
                show_diff("second write", t1, t2);
            if (t2 && vmd_parse_buffer(t2, strlen(t2), &o, &d3, &e)) {
                CHECKF(vmdesc_equal(&d2, &d3, why, sizeof(why)), "%s: %s round 2: %s", name,
                      vmd_format_name(fmts[i]), why);
                vmdesc_free(&d3);
            }
            vmd_diag_free(&w2);
            vmdesc_free(&d2);
        }
        free(t1);
        free(t2);
        vmd_diag_free(&w);
    }
}

static void goldens(const char *dir)
{
    size_t n;
    char **files = list_dir(dir, &n);
    CHECKF(n > 0, "no config files in %s", dir);
    for (size_t i = 0; i < n; i++) {
        char *path, *vpath, *cpath;
        int bl = (int)(strlen(files[i]) - strlen(ext_of(files[i])) - 1);
        if (asprintf(&path, "%s/%s", dir, files[i]) < 0 ||
            asprintf(&vpath, "%s/%.*s.vars", dir, bl, files[i]) < 0 ||
            asprintf(&cpath, "%s/%.*s.calls", dir, bl, files[i]) < 0)
            abort();
        vmd_vars vars = { 0 };
        bool transient = false;
        CHECKF(load_vars(vpath, &vars, &transient), "%s", vpath);
        vmd_parse_opts o = { .vars = &vars, .filename = files[i] };
        vmdesc d;
        vmd_err e = { 0 };
        char eb[700];
        bool ok = vmd_parse_file(path, &o, &d, &e);
        CHECKF(ok, "%s: %s", files[i], vmd_err_str(&e, eb, sizeof(eb)));
        if (ok) {
            vmd_plan p;
            vmd_plan_opts po = { .transient = transient };
            CHECKF(vmd_plan_build(&d, &po, &p, &e), "%s: plan: %s", files[i], e.msg);
            char *got = vmd_plan_text(&p);
            char *want = slurp(cpath, NULL);
            /* the first file of a NAME writes the golden; the others must agree */
            bool first = i == 0 || strncmp(files[i - 1], files[i],
                                           strlen(files[i]) - strlen(ext_of(files[i]))) != 0;
            if (regen && first) {
                spit(cpath, got);
            } else {
                CHECKF(want && !strcmp(want, got), "%s: calls differ from %s%s", files[i], cpath,
                      want ? "" : " (missing: XEND_REGENERATE=1 makes it)");
                if (want && strcmp(want, got))
                    show_diff(cpath, want, got);
            }
            free(want);
            free(got);
            vmd_plan_free(&p);
            round_trip(files[i], &d);
            vmdesc_free(&d);
        }
        vmd_vars_free(&vars);
        free(path);
        free(vpath);
        free(cpath);
    }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

static void negatives(const char *dir)
{
    size_t n;
    char **files = list_dir(dir, &n);
    CHECKF(n > 0, "no negative cases in %s", dir);
    for (size_t i = 0; i < n; i++) {
        char *path, *epath;
        if (asprintf(&path, "%s/%s", dir, files[i]) < 0 ||
            asprintf(&epath, "%s/%.*s.err", dir,
                     (int)(strlen(files[i]) - strlen(ext_of(files[i])) - 1), files[i]) < 0)
            abort();
        vmd_parse_opts o = { .filename = files[i] };
        vmdesc d;
        vmd_err e = { 0 };
        bool ok = vmd_parse_file(path, &o, &d, &e);
        CHECKF(!ok, "%s: accepted, an error was expected", files[i]);
        if (ok) {
            vmdesc_free(&d);
            free(files[i]);
            free(path);
            free(epath);
            continue;
        }
        char got[800];
        vmd_err_str(&e, got, sizeof(got));
        strcat(got, "\n");
        /* every error names its line, except the whole-file ones (.err says
         * so with line 0: "file: message") */
        char *want = slurp(epath, NULL);
        if (regen) {
            spit(epath, got);
        } else {
            CHECKF(want && !strcmp(want, got), "%s: error\n    want: %s    got:  %s", files[i],
                  want ? want : "(missing .err)\n", got);
        }
        CHECKF(e.line > 0 || (want && strstr(want, "#nolines")) || strstr(files[i], "whole"),
              "%s: the error names no line: %s", files[i], got);
        free(want);
        free(files[i]);
        free(path);
        free(epath);
    }
    free(files);
}

/* ---- unit checks ---------------------------------------------------------- */

static bool parse_str(const char *text, vmd_format f, const vmd_vars *vars, vmdesc *d,
                      vmd_err *e, vmd_diag *w)
{
    vmd_parse_opts o = { .format = f, .vars = vars, .filename = "t.cfg", .warnings = w };
    return vmd_parse_buffer(text, strlen(text), &o, d, e);
}

static void unit_cfg(void)
{
    vmdesc d;
    vmd_err e = { 0 };
    vmd_diag w = { 0 };
    char eb[700];
    /* the xmexample2 idiom: vmid from the command line, checked and used */
    const char *t =
        "def vmid_check(var, val):\n"
        "    val = int(val)\n"
        "    if val <= 0:\n"
        "        raise ValueError\n"
        "    return val\n"
        "xm_vars.var('vmid', use=\"Virtual machine id. Integer greater than 0.\", check=vmid_check)\n"
        "xm_vars.check()\n"
        "kernel = '/boot/vmlinuz'\n"
        "name = \"VM%d\" % vmid\n"
        "disk = [ 'phy:sda%d,sda1,w' % (7+vmid), 'phy:sda6,sda6,r' ]\n"
        "vif = [ '' ]\n"
        "memory = 64 * 2\n";
    vmd_vars vars = { 0 };
    CHECKF(vmd_vars_add(&vars, "vmid=3", &e), "vars_add");
    bool ok = parse_str(t, VMD_FMT_CFG, &vars, &d, &e, &w);
    CHECKF(ok, "xm_vars idiom: %s", vmd_err_str(&e, eb, sizeof(eb)));
    if (ok) {
        CHECKF(!strcmp(d.name, "VM3"), "name %s", d.name);
        CHECKF(d.n_disks == 2 && !strcmp(d.disks[0].uname, "phy:sda10"), "disk %s",
              d.n_disks ? d.disks[0].uname : "-");
        CHECKF(d.mem_dynamic_max == 128ll << 20, "memory");
        CHECKF(d.n_vifs == 1 && !d.vifs[0].mac, "one default vif");
        vmdesc_free(&d);
    }
    vmd_vars_free(&vars);
    /* vmid missing, and not positive */
    ok = parse_str(t, VMD_FMT_CFG, NULL, &d, &e, NULL);
    CHECKF(!ok && e.line == 7 && strstr(e.msg, "vmid"), "vmid missing: %s",
          vmd_err_str(&e, eb, sizeof(eb)));
    CHECKF(vmd_vars_add(&vars, "vmid=-1", &e), "vars_add");
    ok = parse_str(t, VMD_FMT_CFG, &vars, &d, &e, NULL);
    CHECKF(!ok && e.line == 7 && strstr(e.msg, "positive"), "vmid -1: %s",
          vmd_err_str(&e, eb, sizeof(eb)));
    vmd_vars_free(&vars);
    /* the command line wins over the file; list variables repeat */
    CHECKF(vmd_vars_add(&vars, "memory=512", &e) && vmd_vars_add(&vars, "disk=phy:a,xvda,w", &e) &&
          vmd_vars_add(&vars, "disk=phy:b,xvdb,r", &e), "vars_add");
    ok = parse_str("kernel='/k'\nmemory = 128\ndisk = ['phy:c,xvdc,w']\n", VMD_FMT_CFG, &vars, &d,
                   &e, NULL);
    CHECKF(ok && d.mem_dynamic_max == 512ll << 20 && d.n_disks == 2 &&
          !strcmp(d.disks[1].dev, "xvdb") && !d.disks[1].writable, "overrides: %s", e.msg);
    if (ok)
        vmdesc_free(&d);
    /* the same overrides on an SXP file */
    ok = parse_str("(vm (name a) (memory 128) (image (linux (kernel /k))))", VMD_FMT_SXP, &vars,
                   &d, &e, NULL);
    CHECKF(ok && d.mem_dynamic_max == 512ll << 20 && d.n_disks == 2, "SXP overrides: %s", e.msg);
    if (ok)
        vmdesc_free(&d);
    vmd_vars_free(&vars);
    CHECKF(!vmd_vars_add(&vars, "no-equals", &e) && !vmd_vars_add(&vars, "=x", &e) &&
          !vmd_vars_add(&vars, "a-b=1", &e), "bad VAR=VALUE refused");
    /* if/else on os.uname / re.search, as the 3.0.3 HVM example did */
    ok = parse_str("import os, re\narch = os.uname()[4]\n"
                   "if re.search('64', arch):\n    arch_libdir = 'lib64'\nelse:\n"
                   "    arch_libdir = 'lib'\n"
                   "kernel = '/usr/lib/xen/boot/hvmloader'\nbuilder = 'hvm'\n"
                   "device_model = '/usr/' + arch_libdir + '/xen/bin/qemu-dm'\n",
                   VMD_FMT_CFG, NULL, &d, &e, &w);
    CHECKF(ok, "HVM arch idiom: %s", vmd_err_str(&e, eb, sizeof(eb)));
    if (ok) {
        const char *dm = vmd_map_get(&d.platform, "device_model");
        CHECKF(dm && !strncmp(dm, "/usr/lib", 8), "device_model %s", dm ? dm : "-");
        CHECKF(!vmd_map_get(&d.platform, "arch") && !vmd_map_get(&d.platform, "arch_libdir"),
              "helper variables do not leak");
        CHECKF(d.hvm_boot_policy && !strcmp(vmd_map_get(&d.hvm_boot_params, "order"), "c"),
              "HVM boot order c");
        vmdesc_free(&d);
    }
    /* things outside the subset, each with its line */
    static const struct { const char *text; unsigned line; const char *msg; } bad[] = {
        { "kernel='/k'\nimport subprocess\n", 2, "only os, re and sys" },
        { "kernel='/k'\nx = open('/etc/passwd').read()\n", 2, "not supported" },
        { "kernel='/k'\nfor i in range(3):\n  pass\n", 2, "'for' is not supported" },
        { "kernel='/k'\nmemory = 1.5\n", 2, "floating-point" },
        { "kernel='/k'\nname = 'a' % (1,)\n", 2, "not all arguments" },
        { "kernel='/k'\nname = undefined_thing\n", 2, "not defined" },
        { "kernel='/k'\ndisk = ['phy:a,xvda,w'\n", 2, "not closed" },
        { "kernel='/k'\n  memory = 3\n", 2, "indentation" },
        { "kernel='/k'\nname = 'x\n", 2, "not closed" },
        { "kernel='/k'\nmemory = 99999999999999999999\n", 2, "not a number" },
        { "kernel='/k'\nmemory = 9223372036854775807 + 1\n", 2, "overflow" },
        { "kernel='/k'\nvif = [ 'mac=00:16:3e:00:00:zz' ]\n", 2, "mac" },
        { "kernel='/k'\nvif = [ 'colour=blue' ]\n", 2, "unknown key" },
        { "kernel='/k'\ndisk = [ 'sda1,sda1,w' ]\n", 2, "no type" },
        { "kernel='/k'\ndisk = [ 'phy:a,xvda,x' ]\n", 2, "mode" },
        { "kernel='/k'\ncpus = '3-1'\n", 2, "not valid" },
        { "kernel='/k'\non_poweroff = 'preserve'\n", 2, "only destroy or restart" },
        { "kernel='/k'\nioports = [ '2f8-2ff' ]\n", 2, "not supported through XenAPI" },
        { "kernel='/k'\npci = [ '00:1g.0' ]\n", 2, "hex" },
        { "kernel='/k'\nmemory = 128\nmaxmem = 64\n", 3, "below memory" },
        { "kernel='/k'\nname = ('a', 'b')\n", 2, "tuple" },
        { "kernel='/k'\nname = lambda: 1\n", 2, "lambda" },
        { "kernel='/k'\nname = __import__('os')\n", 2, "not supported" },
        { "kernel='/k'\nx = os.system('id')\n", 2, "not supported" },
        { "name = 'a'\n", 0, "no kernel" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok = parse_str(bad[i].text, VMD_FMT_CFG, NULL, &d, &e, NULL);
        CHECKF(!ok && e.line == bad[i].line && strstr(e.msg, bad[i].msg) &&
              !strcmp(e.file, "t.cfg"),
              "case %zu (%s): want line %u '%s', got %s", i, bad[i].text, bad[i].line,
              bad[i].msg, ok ? "success" : vmd_err_str(&e, eb, sizeof(eb)));
        if (ok)
            vmdesc_free(&d);
    }
    vmd_diag_free(&w);
}

/* A cfg file: head, then `name = name + name` `times` times (each line doubles it). */
static char *doubled(const char *head, const char *name, int times, size_t *len_r)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len_r);
    if (!f) {
        perror("open_memstream");
        exit(1);
    }
    fputs(head, f);
    for (int i = 0; i < times; i++)
        fprintf(f, "%s = %s + %s\n", name, name, name);
    fclose(f);
    return text;
}

static void unit_misc(void)
{
    char *out, why[200];
    CHECKF(vmd_cpus_parse("0-3,^1", &out, why, sizeof(why)) && !strcmp(out, "0,2,3"), "cpus");
    free(out);
    CHECKF(vmd_cpus_parse("0-3,^1,1", &out, why, sizeof(why)) && !strcmp(out, "0,1,2,3"), "cpus");
    free(out);
    CHECKF(!vmd_cpus_parse("0-", &out, why, sizeof(why)), "cpus 0-");
    CHECKF(!vmd_cpus_parse("99999", &out, why, sizeof(why)), "cpus too big");
    CHECKF(vmd_format_detect("  <xm/>", 7) == VMD_FMT_XML, "detect xml");
    CHECKF(vmd_format_detect("# c\n(vm)", 8) == VMD_FMT_SXP, "detect sxp");
    CHECKF(vmd_format_detect("name='a'", 8) == VMD_FMT_CFG, "detect cfg");
    vmd_map m = { 0 };
    vmd_map_set(&m, "a", "1");
    vmd_map_set(&m, "a", "2");
    CHECKF(m.n == 1 && !strcmp(vmd_map_get(&m, "a"), "2"), "map replace");
    CHECKF(vmd_map_del(&m, "a") && m.n == 0 && !vmd_map_del(&m, "a"), "map del");
    vmd_map_free(&m);
    /* size limit, NUL bytes */
    size_t big = VMD_MAX_INPUT + 1;
    char *b = malloc(big);
    memset(b, ' ', big);
    vmdesc d;
    vmd_err e = { 0 };
    vmd_parse_opts o = { .filename = "big.cfg" };
    CHECKF(!vmd_parse_buffer(b, big, &o, &d, &e) && strstr(e.msg, "larger"), "size limit");
    CHECKF(!vmd_parse_buffer("a\0b", 3, &o, &d, &e) && strstr(e.msg, "NUL"), "NUL byte");
    free(b);
    /* nesting limits */
    char deep[400];
    memset(deep, '(', sizeof(deep));
    o.format = VMD_FMT_SXP;
    CHECKF(!vmd_parse_buffer(deep, sizeof(deep), &o, &d, &e) && strstr(e.msg, "deeper"),
          "SXP depth: %s", e.msg);
    memcpy(deep, "x = ", 4);
    memset(deep + 4, '[', sizeof(deep) - 4);
    o.format = VMD_FMT_CFG;
    CHECKF(!vmd_parse_buffer(deep, sizeof(deep), &o, &d, &e) && strstr(e.msg, "deeper"),
          "cfg depth: %s", e.msg);
    /* list doubling hits the value budget, not the memory */
    size_t dl = 0;
    char *dbl = doubled("kernel='/k'\nx = [1]\n", "x", 40, &dl);
    CHECKF(!vmd_parse_buffer(dbl, dl, &o, &d, &e) && (strstr(e.msg, "items") ||
                                                     strstr(e.msg, "too many")),
          "list doubling: %s", e.msg);
    free(dbl);
    dbl = doubled("kernel='/k'\nx = 'aaaaaaaaaaaaaaaa'\n", "x", 40, &dl);
    CHECKF(!vmd_parse_buffer(dbl, dl, &o, &d, &e) && strstr(e.msg, "longer"),
          "string doubling: %s", e.msg);
    free(dbl);
    /* big strings copied into big lists: bounded by the bytes built, not by RAM */
    FILE *f = open_memstream(&dbl, &dl);
    fputs("kernel='/k'\ns = 'aaaaaaaaaaaaaaaa'\n", f);
    for (int i = 0; i < 12; i++)
        fputs("s = s + s\n", f);
    fputs("l = [s, s, s, s, s, s, s, s]\n", f);
    for (int i = 0; i < 9; i++)
        fputs("l = l + l\n", f);
    for (int i = 0; i < 20; i++)
        fprintf(f, "copy%d = l\n", i);
    fclose(f);
    CHECKF(!vmd_parse_buffer(dbl, dl, &o, &d, &e) && strstr(e.msg, "MiB of strings"),
          "memory bomb: %s", e.msg);
    free(dbl);
    /* XML: entities refused, no network, schema errors with lines */
    o.format = VMD_FMT_XML;
    const char *xxe = "<?xml version='1.0'?>\n<!DOCTYPE xm [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n<xm>&x;</xm>\n";
    CHECKF(!vmd_parse_buffer(xxe, strlen(xxe), &o, &d, &e), "external entity refused");
    const char *bomb = "<?xml version='1.0'?>\n<!DOCTYPE xm [<!ENTITY a 'aaaaaaaaaa'>"
                       "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>\n<xm>&b;</xm>\n";
    CHECKF(!vmd_parse_buffer(bomb, strlen(bomb), &o, &d, &e), "entity expansion refused");
    /* plan: transient, empty CD, reuse of a VDI */
    const char *cd = "kernel='/k'\nname='cd'\ndisk=['file:/i.img,xvda,w', ',hdc:cdrom,r']\n";
    o.format = VMD_FMT_CFG;
    if (vmd_parse_buffer(cd, strlen(cd), &o, &d, &e)) {
        vmd_plan p;
        vmd_plan_opts po = { .transient = true };
        CHECKF(vmd_plan_build(&d, &po, &p, &e), "plan");
        char *txt = vmd_plan_text(&p);
        CHECKF(strstr(txt, "\"transient\": \"True\"") && strstr(txt, "VDI: \"\"") &&
              strstr(txt, "vdi0 = VDI.create unless vdi0"), "plan text:\n%s", txt);
        free(txt);
        vmd_plan_free(&p);
        vmdesc_free(&d);
    } else {
        CHECKF(false, "cd: %s", e.msg);
    }
}

/* vmdesc_equal sees a change in every kind of field, at the top and in each kind of device, and
 * says where (vmdesc_free and vmdesc_equal read the same field tables). */
static void unit_equal(void)
{
    const char *t = "name = 'eq'\nkernel = '/boot/vmlinuz'\nmemory = 128\n"
                    "disk = [ 'phy:/dev/vg/a,xvda,w' ]\nvif = [ 'mac=00:16:3e:00:00:01' ]\n"
                    "pci = [ '0000:00:1d.0' ]\nvfb = [ 'vnc=1' ]\n";
    vmdesc a, b;
    vmd_err e = { 0 };
    char why[256];
    if (!CHECKF(parse_str(t, VMD_FMT_CFG, NULL, &a, &e, NULL), "parse: %s", e.msg))
        return;
    if (!CHECKF(parse_str(t, VMD_FMT_CFG, NULL, &b, &e, NULL), "parse: %s", e.msg)) {
        vmdesc_free(&a);
        return;
    }
    CHECKF(vmdesc_equal(&a, &b, why, sizeof(why)), "the same file: %s", why);
    static const struct {
        int what;
        const char *says;
    } changes[] = {
        { 0, "kernel: '/boot/vmlinuz' vs '/boot/other'" },
        { 1, "mem_static_max: " },
        { 2, "is_a_template: 0 vs 1" },
        { 3, "platform differs" },
        { 4, "disk 0 dev: 'xvda' vs 'xvdb'" },
        { 5, "disk 0 writable: 1 vs 0" },
        { 6, "vif 0 mtu: 0 vs 9000" },
        { 7, "pci 0 slot: 29 vs 30" },
        { 8, "console 0 other_config differs" },
        { 9, "disks: 1 vs 2" },
    };
    for (size_t i = 0; i < sizeof(changes) / sizeof(*changes); i++) {
        vmdesc c;
        if (!CHECKF(parse_str(t, VMD_FMT_CFG, NULL, &c, &e, NULL), "parse: %s", e.msg))
            break;
        switch (changes[i].what) {
        case 0:
            free(c.kernel);
            c.kernel = strdup("/boot/other");
            break;
        case 1:
            c.mem_static_max *= 2;
            break;
        case 2:
            c.is_a_template = true;
            break;
        case 3:
            vmd_map_set(&c.platform, "acpi", "1");
            break;
        case 4:
            free(c.disks[0].dev);
            c.disks[0].dev = strdup("xvdb");
            break;
        case 5:
            c.disks[0].writable = false;
            break;
        case 6:
            c.vifs[0].mtu = 9000;
            break;
        case 7:
            c.pcis[0].slot = 30;
            break;
        case 8:
            vmd_map_set(&c.consoles[0].other_config, "keymap", "de");
            break;
        case 9:
            c.disks = realloc(c.disks, 2 * sizeof(*c.disks));
            memset(&c.disks[1], 0, sizeof(*c.disks));
            c.n_disks = 2;
            break;
        }
        why[0] = '\0';
        CHECKF(!vmdesc_equal(&a, &c, why, sizeof(why)) && strstr(why, changes[i].says),
               "change %d: '%s', wanted '%s'", changes[i].what, why, changes[i].says);
        vmdesc_free(&c);
    }
    vmdesc_free(&a);
    vmdesc_free(&b);
}

int main(void)
{
    const char *src = getenv("XEND_SRCDIR");
    char dir[4096], schema[4200];
    snprintf(dir, sizeof(dir), "%s/tests/config", src ? src : ".");
    snprintf(schema, sizeof(schema), "%s/config/create.rng", src ? src : ".");
    setenv("XEND_CREATE_SCHEMA", schema, 1);
    regen = getenv("XEND_REGENERATE") && !strcmp(getenv("XEND_REGENERATE"), "1");
    xtest_group("goldens and round trips");
    goldens(dir);
    char bad[4200];
    snprintf(bad, sizeof(bad), "%s/bad", dir);
    xtest_group("negative cases");
    negatives(bad);
    xtest_group("units");
    unit_cfg();
    unit_misc();
    unit_equal();
    return xtest_done();
}
