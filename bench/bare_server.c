/* bare_server: the baseline for the RPC benchmarks.
 *
 * A libmicrohttpd server with the daemon's threading flags (epoll internal thread,
 * thread pool) that reads the POST body, ignores it, and answers every request with
 * one fixed XML-RPC reply.  Whatever xend adds on top of this (parsing, dispatch,
 * sessions, marshalling) is what the throughput ratio measures.
 *
 * Prints "LISTENING port=N" (or "LISTENING unix=PATH") once ready; runs until SIGINT or
 * SIGTERM, or until --timeout seconds have passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char reply[] =
    "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
    "<member><name>Status</name><value><string>Success</string></value></member>"
    "<member><name>Value</name><value><string>Halted</string></value></member>"
    "</struct></value></param></params></methodResponse>";

#define MAX_BODY (1024 * 1024)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The per-request state is how much body has arrived, plus one, kept in
 * MHD's request pointer itself (NULL: a new request): nothing to allocate,
 * nothing to free when the request ends. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    (void)upload_data;
    uintptr_t seen = (uintptr_t)*con_cls;
    if (!seen) {
        *con_cls = (void *)(uintptr_t)1;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        seen += *upload_data_size; /* read and drop, as a parser would consume it */
        *upload_data_size = 0;
        *con_cls = (void *)seen;
        return seen - 1 > MAX_BODY ? MHD_NO : MHD_YES;
    }
    unsigned code = strcmp(method, "POST") == 0 ? MHD_HTTP_OK : MHD_HTTP_METHOD_NOT_ALLOWED;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof(reply) - 1, (void *)reply, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml");
    enum MHD_Result ret = MHD_queue_response(connection, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = 65536;
    struct rlimit nrl = {.rlim_cur = want, .rlim_max = rl.rlim_max > want ? rl.rlim_max : want};
    if (setrlimit(RLIMIT_NOFILE, &nrl) != 0) {
        nrl.rlim_cur = rl.rlim_max;
        nrl.rlim_max = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nrl);
    }
}

static void usage(FILE *f)
{
    fputs("usage: bare_server [--port N | --unix PATH] [--threads N] [--max-connections N] [--timeout SEC]\n"
          "  --port N            TCP port on 127.0.0.1 (0 picks a free one; default 0)\n"
          "  --unix PATH         listen on a Unix socket instead\n"
          "  --threads N         MHD thread pool size (default 2, as the daemon)\n"
          "  --max-connections N connection limit (default 30000)\n"
          "  --timeout SEC       exit by itself after SEC seconds (default 0: run until killed)\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"port", required_argument, 0, 'p'},
        {"unix", required_argument, 0, 'u'},
        {"threads", required_argument, 0, 't'},
        {"max-connections", required_argument, 0, 'm'},
        {"timeout", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    unsigned port = 0, threads = 2, max_conns = 30000;
    double timeout = 0;
    const char *unix_path = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'p': port = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'u': unix_path = optarg; break;
        case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'm': max_conns = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'T': timeout = strtod(optarg, NULL); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || port > 65535 || threads < 1 || threads > 64) {
        usage(stderr);
        return 2;
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d;
    int lfd = -1;
    if (unix_path) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        if (strlen(unix_path) >= sizeof(sun.sun_path)) {
            fprintf(stderr, "bare_server: socket path too long\n");
            return 1;
        }
        strcpy(sun.sun_path, unix_path);
        unlink(unix_path);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(lfd, 4096) != 0) {
            perror("bare_server: unix socket");
            return 1;
        }
        d = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
                             MHD_OPTION_LISTEN_SOCKET, lfd,
                             MHD_OPTION_THREAD_POOL_SIZE, threads,
                             MHD_OPTION_CONNECTION_LIMIT, max_conns,
                             MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                             MHD_OPTION_END);
    } else {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                             MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
                             MHD_OPTION_THREAD_POOL_SIZE, threads,
                             MHD_OPTION_CONNECTION_LIMIT, max_conns,
                             MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                             MHD_OPTION_END);
    }
    if (!d) {
        fprintf(stderr, "bare_server: MHD_start_daemon failed\n");
        return 1;
    }
    if (unix_path)
        printf("LISTENING unix=%s\n", unix_path);
    else {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        printf("LISTENING port=%u\n", di ? (unsigned)di->port : port);
    }
    fflush(stdout);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!stop) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (timeout > 0) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= timeout)
                break;
        }
    }
    MHD_stop_daemon(d);
    if (unix_path) {
        close(lfd);
        unlink(unix_path);
    }
    return 0;
}
