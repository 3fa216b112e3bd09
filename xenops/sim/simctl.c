/* xend-simctl: the sim backend's test-only control (not part of XenAPI).
 * It plays the guest or the outside world: a guest powers off, reboots or
 * crashes by itself, ignores shutdown requests, or a domain appears that
 * xend did not create (like `xl create`).
 *
 *   xend-simctl --state-dir DIR poweroff|reboot|crash|watchdog DOMID
 *   xend-simctl --state-dir DIR unresponsive DOMID on|off
 *   xend-simctl --state-dir DIR create-foreign NAME [MEMORY_MIB]
 *   xend-simctl --state-dir DIR list
 *
 * DIR is the sim backend's directory (xend's state dir + "/sim" by default).
 * A request is a file dropped into DIR/ctl; the running backend applies it
 * and answers in a ".done" file, which this tool prints.  Exit 0 on "ok".
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: xend-simctl --state-dir DIR {poweroff|reboot|crash|watchdog DOMID | "
                    "unresponsive DOMID on|off | create-foreign NAME [MIB] | list}\n");
    return 2;
}

static int list(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/domains", dir);
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "xend-simctl: %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".dom"))
            continue;
        char file[4400];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "r");
        if (!f)
            continue;
        char line[1200], domid[16] = "", name[256] = "", state[32] = "", uuid[64] = "";
        while (fgets(line, sizeof(line), f)) {
            sscanf(line, "domid = %15s", domid);
            sscanf(line, "name = %255[^\n]", name);
            sscanf(line, "state = %31s", state);
            sscanf(line, "uuid = %63s", uuid);
        }
        fclose(f);
        printf("%s %s %s %s\n", domid, uuid, state, name);
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "--state-dir")) {
        dir = argv[i + 1];
        i += 2;
    }
    if (!dir || i >= argc)
        return usage();
    const char *cmd = argv[i];
    if (!strcmp(cmd, "list"))
        return list(dir);
    char req[2048] = "";
    if (!strcmp(cmd, "unresponsive") && i + 2 < argc)
        snprintf(req, sizeof(req), "%s %s %s\n", cmd, argv[i + 1], argv[i + 2]);
    else if (!strcmp(cmd, "create-foreign") && i + 1 < argc)
        snprintf(req, sizeof(req), "%s %s %s\n", cmd, argv[i + 1], i + 2 < argc ? argv[i + 2] : "128");
    else if ((!strcmp(cmd, "poweroff") || !strcmp(cmd, "reboot") || !strcmp(cmd, "crash") ||
              !strcmp(cmd, "watchdog")) && i + 1 < argc)
        snprintf(req, sizeof(req), "%s %s\n", cmd, argv[i + 1]);
    else
        return usage();

    char path[4096], tmp[4200], done[4200];
    snprintf(path, sizeof(path), "%s/ctl/req-%ld-%ld", dir, (long)getpid(), (long)time(NULL));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(done, sizeof(done), "%s.done", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(req, f) == EOF || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "xend-simctl: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (int waited = 0; waited < 1000; waited++) {    /* up to 10 s */
        FILE *r = fopen(done, "r");
        if (r) {
            char answer[600] = "";
            if (!fgets(answer, sizeof(answer), r))
                answer[0] = '\0';
            fclose(r);
            unlink(done);
            fputs(answer, strncmp(answer, "ok", 2) ? stderr : stdout);
            return strncmp(answer, "ok", 2) ? 1 : 0;
        }
        usleep(10000);
    }
    unlink(path);
    fprintf(stderr, "xend-simctl: nobody answered (is xend running with the sim backend on %s?)\n", dir);
    return 1;
}
