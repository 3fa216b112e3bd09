#!/usr/bin/python3
"""bench/login-abuse.py: correct logins and VM.start while strangers guess
passwords (issue 12).  Starts its own xend (sim backend, a throw-away PAM
user: needs root), measures a correct TCP login (PAM), root's login over the Unix socket
and VM.start without
an attack, then again while 48 connections from 48 loopback addresses send
wrong passwords for root at up to RATE per second.  Bounded: every phase
stops after its duration; the daemon and the PAM user are removed.

Usage: login-abuse.py [--quick] [--xend PATH] [--rate 50] [--conns 48]"""
import argparse
import http.client
import os
import sys
import threading
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import xendtest  # noqa: E402


def call(x, method, *params, source="127.0.0.1", conn=None, timeout=120):
    c = conn or http.client.HTTPConnection("127.0.0.1", x.port, timeout=timeout, source_address=(source, 0))
    c.request("POST", "/", xmlrpc.client.dumps(params, method), {"Content-Type": "text/xml"})
    r = c.getresponse()
    v = xmlrpc.client.loads(r.read())[0][0]
    if not conn:
        c.close()
    return v


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else float("nan")


def measure(x, s, vm, seconds):
    """Correct logins (fresh connection each, as a new client) and VM.start
    (with hard_shutdown between, not timed), alternating, for seconds."""
    logins, starts, root = [], [], []
    conn = http.client.HTTPConnection("127.0.0.1", x.port, timeout=120)
    end = time.time() + seconds
    while time.time() < end:
        t0 = time.time()
        r = call(x, "session.login_with_password", x.username, x.password)
        logins.append(time.time() - t0)
        assert r["Status"] == "Success", r
        call(x, "session.logout", r["Value"])
        t0 = time.time()
        r = x.unix_proxy().session.login_with_password("root", "")
        root.append(time.time() - t0)
        assert r["Status"] == "Success", r
        t0 = time.time()
        r = call(x, "VM.start", s, vm, False, False, conn=conn)
        starts.append(time.time() - t0)
        assert r["Status"] == "Success", r
        r = call(x, "VM.hard_shutdown", s, vm, conn=conn)
        assert r["Status"] == "Success", r
    conn.close()
    return logins, starts, root


class Attack:
    def __init__(self, x, rate, conns, user="root"):
        self.x, self.rate, self.conns, self.user = x, rate, conns, user
        self.stop = threading.Event()
        self.sent = self.answered = self.errors = 0
        self.lock = threading.Lock()
        self.tokens = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self.conn_loop, args=("127.0.2.%d" % (i + 1),))
                        for i in range(conns)]
        self.pacer = threading.Thread(target=self.pace)

    def pace(self):
        """Release RATE tokens per second; unspent tokens are dropped after a second."""
        while not self.stop.is_set():
            for _ in range(self.rate):
                self.tokens.release()
            self.stop.wait(1.0)
            while self.tokens.acquire(blocking=False):
                pass

    def conn_loop(self, source):
        while not self.stop.is_set():
            if not self.tokens.acquire(timeout=0.2):
                continue
            with self.lock:
                self.sent += 1
            try:
                # an attacker does not wait for delayed answers: 0.5 s, then a new connection
                r = call(self.x, "session.login_with_password", self.user, "wrong", source=source, timeout=0.5)
                assert r["Status"] == "Failure", r
                with self.lock:
                    self.answered += 1
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.errors += 1

    def start(self):
        self.t0 = time.time()
        self.pacer.start()
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        self.pacer.join()
        for t in self.threads:
            t.join(15)
        return time.time() - self.t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--xend", help="the daemon to measure (default: the build's)")
    ap.add_argument("--rate", type=int, default=50)
    ap.add_argument("--conns", type=int, default=48)
    a = ap.parse_args()
    if a.xend:
        xendtest.xend_binary = lambda: a.xend
    secs = 8 if a.quick else 25
    x = xendtest.Xend(conf=["role-default = read-only"])
    try:
        x.start()
        u = x.unix_proxy()
        s = u.session.login_with_password("root", "")["Value"]
        vm = u.VM.create(s, {"name_label": "bench", "memory_static_max": str(256 << 20),
                             "memory_dynamic_max": str(256 << 20), "memory_dynamic_min": str(128 << 20),
                             "memory_static_min": str(16 << 20), "VCPUs_max": "1", "VCPUs_at_startup": "1"})
        assert vm["Status"] == "Success", vm
        vm = vm["Value"]
        measure(x, s, vm, 2)                    # warm up
        base_l, base_s, base_r = measure(x, s, vm, secs)
        att = Attack(x, a.rate, a.conns)
        att.start()
        time.sleep(2)                           # let the attack reach its pace
        hit_l, hit_s, hit_r = measure(x, s, vm, secs)
        dur = att.finish()
        print("%-28s %10s %10s %10s" % ("", "n", "p50 ms", "p99 ms"))
        for name, xs in (("login (TCP, PAM), no attack", base_l), ("login (TCP, PAM), attack", hit_l),
                         ("root login (Unix), no attack", base_r), ("root login (Unix), attack", hit_r),
                         ("VM.start, no attack", base_s), ("VM.start, under attack", hit_s)):
            print("%-28s %10d %10.1f %10.1f" % (name, len(xs), pct(xs, 50) * 1e3, pct(xs, 99) * 1e3))
        print("attack: %d wrong passwords sent in %.1f s (%.1f/s offered at most %d/s) from %d connections, "
              "%d answered within 0.5 s, %d abandoned" % (att.sent, dur, att.sent / dur, a.rate, a.conns, att.answered, att.errors))
        ratio = pct(hit_s, 99) / pct(base_s, 99)
        ok_login = pct(hit_l, 99) <= 0.200
        ok_start = ratio <= 1.2
        print("BENCH name=login-abuse login_p99_ms=%.1f login_p99_base_ms=%.1f status=%s" %
              (pct(hit_l, 99) * 1e3, pct(base_l, 99) * 1e3, "PASS" if ok_login else "FAIL"))
        print("BENCH name=login-abuse-vmstart vmstart_p99_ms=%.1f vmstart_p99_base_ms=%.1f ratio=%.2f status=%s" %
              (pct(hit_s, 99) * 1e3, pct(base_s, 99) * 1e3, ratio, "PASS" if ok_start else "FAIL"))
        print("BENCH name=login-abuse-attack sent=%d rate=%.1f answered=%d status=INFO" %
              (att.sent, att.sent / dur, att.answered))
        print("BENCH name=login-abuse-unix root_login_p99_ms=%.1f root_login_p99_base_ms=%.1f status=INFO" %
              (pct(hit_r, 99) * 1e3, pct(base_r, 99) * 1e3))
        print("load average: %s" % open("/proc/loadavg").read().strip())
    finally:
        x.cleanup()


if __name__ == "__main__":
    main()
