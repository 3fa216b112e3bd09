#!/usr/bin/python3
"""bench/strangers.py: what strangers cost (issue 12).  Starts its own xend
(sim backend; root: it raises the descriptor limit) and measures
  1. RSS while 60 clients hold unfinished 4 MiB request bodies;
  2. RSS while 10,000 idle TCP connections (from 50 loopback addresses) are
     open, and the latency of root's calls over the Unix socket and of
     authenticated TCP calls meanwhile, against the same without them.
Bounded: a minute or two; every socket is closed and the daemon stopped.

Usage: strangers.py [--xend PATH] [--idle 10000]"""
import argparse
import http.client
import os
import resource
import socket
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import xendtest  # noqa: E402


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def latencies(x, n=200):
    u = x.unix_proxy()
    su = u.session.login_with_password("root", "")["Value"]
    c = http.client.HTTPConnection("127.0.0.1", x.port, timeout=60)
    body = lambda s: xmlrpc.client.dumps((s,), "host.get_all")  # noqa: E731
    c.request("POST", "/", xmlrpc.client.dumps(("root", ""), "session.login_with_password"))
    st = xmlrpc.client.loads(c.getresponse().read())[0][0]["Value"]
    unix, tcp = [], []
    for _ in range(n):
        t0 = time.time()
        assert u.host.get_all(su)["Status"] == "Success"
        unix.append(time.time() - t0)
        t0 = time.time()
        c.request("POST", "/", body(st), {"Content-Type": "text/xml"})
        assert xmlrpc.client.loads(c.getresponse().read())[0][0]["Status"] == "Success"
        tcp.append(time.time() - t0)
    c.close()
    return unix, tcp


def bodies(x, clients=60, size=4 << 20):
    before = rss_kib(x.proc.pid)
    socks, refused = [], 0
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % size
    chunk = b"x" * (1 << 20)
    for _ in range(clients):
        s = socket.create_connection(("127.0.0.1", x.port))
        s.sendall(head)
        s.settimeout(0.3)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 503"):
                refused += 1
                s.close()
                continue
        except socket.timeout:
            pass
        s.settimeout(30)
        try:
            for _ in range(size // len(chunk) - 1):
                s.sendall(chunk)
            s.sendall(chunk[:-1])           # all but the last byte: held
        except OSError:
            refused += 1
            s.close()
            continue
        socks.append(s)
    time.sleep(2)
    after = rss_kib(x.proc.pid)
    for s in socks:
        s.close()
    print("60 clients holding 4 MiB bodies: %d held, %d refused (503); RSS %d -> %d KiB (+%.1f MiB)" %
          (len(socks), refused, before, after, (after - before) / 1024.0))
    print("BENCH name=strangers-bodies rss_rise_mib=%.1f held=%d refused=%d status=%s" %
          ((after - before) / 1024.0, len(socks), refused, "PASS" if after - before <= 32 * 1024 else "FAIL"))


def idle(x, n):
    base_u, base_t = latencies(x)
    before = rss_kib(x.proc.pid)
    socks = []
    t0 = time.time()
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.3.%d" % (i % 50 + 1), 0))
        s.connect(("127.0.0.1", x.port))
        socks.append(s)
    time.sleep(2)
    after = rss_kib(x.proc.pid)
    fds = len(os.listdir("/proc/%d/fd" % x.proc.pid))
    hit_u, hit_t = latencies(x)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                continue
        except BlockingIOError:
            alive += 1
        except OSError:
            continue
    for s in socks:
        s.close()
    print("%d idle connections opened in %.1f s, %d still open; daemon descriptors %d; RSS %d -> %d KiB "
          "(+%.1f MiB, %.1f KiB each)" % (n, time.time() - t0, alive, fds, before, after,
                                          (after - before) / 1024.0, (after - before) / max(alive, 1)))
    print("%-34s %10s %10s" % ("", "p50 ms", "p99 ms"))
    for name, xs in (("root over Unix, no idle", base_u), ("root over Unix, %d idle" % n, hit_u),
                     ("TCP with session, no idle", base_t), ("TCP with session, %d idle" % n, hit_t)):
        print("%-34s %10.2f %10.2f" % (name, pct(xs, 50) * 1e3, pct(xs, 99) * 1e3))
    ok = pct(hit_u, 50) <= 2 * pct(base_u, 50) and pct(hit_t, 50) <= 2 * pct(base_t, 50)
    print("BENCH name=strangers-idle idle=%d alive=%d rss_rise_mib=%.1f unix_p50_ms=%.2f unix_p50_base_ms=%.2f "
          "tcp_p50_ms=%.2f tcp_p50_base_ms=%.2f status=%s" %
          (n, alive, (after - before) / 1024.0, pct(hit_u, 50) * 1e3, pct(base_u, 50) * 1e3,
           pct(hit_t, 50) * 1e3, pct(base_t, 50) * 1e3, "PASS" if ok else "FAIL"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xend")
    ap.add_argument("--idle", type=int, default=10000)
    a = ap.parse_args()
    if a.xend:
        xendtest.xend_binary = lambda: a.xend
    want = a.idle + 2000
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    # idle connections must outlive the measurement: http-timeout 120 s here (default 30 s)
    x = xendtest.Xend(pam=False, conf=["http-timeout = 120"])
    try:
        x.start()
        bodies(x)
        time.sleep(1)
        idle(x, a.idle)
        print("load average: %s" % open("/proc/loadavg").read().strip())
    finally:
        x.cleanup()


if __name__ == "__main__":
    main()
