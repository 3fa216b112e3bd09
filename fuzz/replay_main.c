/* Replays files through a libFuzzer harness without libFuzzer: the
 * harness built with the normal compiler (and the sanitizers when the build
 * has them), for `make check`.  Usage: replay-NAME FILE|DIR...
 * Prints 'N passed, 0 failed' (a crash or abort fails the test). */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int runs;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t cap = 1 << 16, n = 0, r;
    uint8_t *b = malloc(cap);
    while ((r = fread(b + n, 1, cap - n, f)) > 0)
        if ((n += r) == cap)
            b = realloc(b, cap *= 2);
    fclose(f);
    /* an exact-size copy, so that ASan sees reads past the end */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, b, n);
    free(b);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    runs++;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            names = realloc(names, (n + 1) * sizeof(*names));
            if (asprintf(&names[n++], "%s/%s", path, e->d_name) < 0)
                exit(1);
        }
    if (d)
        closedir(d);
    qsort(names, n, sizeof(*names), cmp);
    for (size_t i = 0; i < n; i++) {
        run_path(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    if (runs == 0) {
        printf("no inputs found\n0 passed, 1 failed\n");
        return 1;
    }
    printf("%s: %d inputs replayed without a crash\n%d passed, 0 failed\n", argv[0], runs, runs);
    return 0;
}
