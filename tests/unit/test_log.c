/* Unit test of util/log's domains and filters: parsing, thresholds per
 * domain, changes seen at once, and the "domain: " prefix in the file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/xtest.h"
#include "util/log.h"

XLOG_DOMAIN("unit");
static xlog_domain other = { "other", 0, 0 };

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

int main(void)
{
    xtest_group("parsing");
    char *err = NULL;
    CHECK(xlog_filters_check("unit=debug, other=error", NULL));
    CHECK(xlog_filters_check("", NULL) && xlog_filters_check(NULL, NULL));
    CHECK(xlog_filters_check("*=warning persist=debug", NULL));
    CHECKF(!xlog_filters_check("unit=loud", &err) && err && strstr(err, "'unit=loud'"), "%s", err ? err : "");
    free(err);
    err = NULL;
    CHECK(!xlog_filters_check("=debug", NULL));
    CHECK(!xlog_filters_check("unit", NULL));
    CHECK(!xlog_filters_check("Unit=debug", NULL));       /* domain names are lower case */
    CHECK(!xlog_filters_check("a*=debug", NULL));

    xtest_group("thresholds");
    xlog_set_level(XLOG_INFO);
    CHECK(xlogd_enabled(XLOG_INFO) && !xlogd_enabled(XLOG_DEBUG));
    CHECK(xlog_set_filters("unit=debug,other=error", NULL));
    CHECK(xlogd_enabled(XLOG_DEBUG));
    CHECK(!xlog_domain_enabled(&other, XLOG_WARNING) && xlog_domain_enabled(&other, XLOG_ERROR));
    char *f = xlog_get_filters();
    CHECK_STR_EQ(f, "unit=debug,other=error");
    free(f);
    /* a bad spec changes nothing */
    CHECK(!xlog_set_filters("unit=error,oops", NULL));
    CHECK(xlogd_enabled(XLOG_DEBUG));
    /* "*" for the others; the global level moves the unnamed ones */
    CHECK(xlog_set_filters("*=warning, unit=info", NULL));
    CHECK(!xlog_domain_enabled(&other, XLOG_INFO) && xlog_domain_enabled(&other, XLOG_WARNING));
    CHECK(xlogd_enabled(XLOG_INFO) && !xlogd_enabled(XLOG_DEBUG));
    CHECK(xlog_set_filters("", NULL));
    xlog_set_level(XLOG_DEBUG);
    CHECK(xlogd_enabled(XLOG_DEBUG) && xlog_domain_enabled(&other, XLOG_DEBUG));
    f = xlog_get_filters();
    CHECK_STR_EQ(f, "");
    free(f);

    xtest_group("lines");
    char path[] = "/tmp/xend-test-log-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    xlog_open(path, XLOG_INFO, true);
    CHECK(xlog_set_filters("other=debug", NULL));
    xlogd(XLOG_INFO, "shown %d", 1);
    xlogd(XLOG_DEBUG, "hidden");
    xlog_in(&other, XLOG_DEBUG, "detail\nwith a newline");
    xlog(XLOG_INFO, "plain");
    xlog_close();
    char *text = slurp(path);
    CHECKF(strstr(text, "info: unit: shown 1\n") != NULL, "%s", text);
    CHECKF(strstr(text, "hidden") == NULL, "%s", text);
    CHECKF(strstr(text, "debug: other: detail?with a newline\n") != NULL, "%s", text);
    CHECKF(strstr(text, "info: plain\n") != NULL, "%s", text);
    free(text);
    unlink(path);
    return xtest_done();
}
