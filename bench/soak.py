#!/usr/bin/python3
"""bench/soak.py: many clients at once for a while, mixing reads, writes,
event waiters and logins (issue 12), then a check that the daemon is back
where it started.  Starts its own xend (sim backend; logins through PAM with
a throw-away user when run as root, else on a listener without
authentication), and stops it and removes the user at the end.

Each client is one thread with its own keep-alive connection, from one of 8
loopback addresses; client i is, by i mod 4:
  0 reader   VM.get_all_records, host.get_record
  1 writer   VM.create, VM.set_name_description, VM.get_record, VM.destroy
  2 waiter   event.from on VM (5 s timeout), woken by the writers
  3 login    a new connection: session.login_with_password, host.get_all,
             session.logout
Readers, writers and waiters log in at their start and out at their end.

Measured: errors (a Failure answer or a broken call), calls, and the daemon's
RSS and descriptor count before, at their peak (sampled every 0.2 s) and
after (once every client has gone: the descriptors back at their count
before, then RSS within the tolerance; each waited for up to a deadline, not
for a fixed time).  "Before" is the daemon once it has served a 3 s burst of
the same clients and those clients left: its thread pools, PAM modules and
malloc arenas exist and have seen as many connections at once.  Both
"before" and "after" are taken TRIM_WAIT s after the descriptors are back:
past the 2 s tick after xend's idle worker threads exited (5 s after their
last call), where it hands freed heap back (malloc_trim), so neither
depends on when its ~30 s trim falls.  RSS is split into anonymous and
file-backed pages (RssAnon, RssFile); --smaps DIR saves the daemon's
/proc/PID/smaps at each point, for a diff per mapping.  The figures
of the daemon freshly started (after one call of each kind) are printed too,
and RSS after against them.

Passes (exit 0) with no error, descriptors back at their baseline and RSS
within --rss-tolerance (20%) of its baseline; exit 1 otherwise, 2 on a setup
failure.  Prints a table and one "BENCH name=soak ..." line.

Usage: soak.py [--xend PATH] [--clients 256] [--seconds 60]
               [--rss-tolerance 0.2] [--allow-kib 0] [--settle 60]
               [--conf 'KEY = VALUE']..."""
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

KINDS = ("reader", "writer", "waiter", "login")
# xend hands freed heap back (malloc_trim) at its first 2 s tick with no
# connection open and at the tick after worker threads exited, idle for 5 s
# (their malloc caches go back to the heap then): "before" and "after" are
# both taken past those
TRIM_WAIT = 9


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_rss_split_kib(pid):
    """(RssAnon, RssFile) in KiB."""
    v = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("RssAnon", "RssFile"):
                v[k] = int(rest.split()[0])
    return v.get("RssAnon", 0), v.get("RssFile", 0)


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Client(threading.Thread):
    def __init__(self, soak, i):
        super().__init__(daemon=True)
        self.soak, self.i, self.kind = soak, i, KINDS[i % 4]
        self.source = "127.0.6.%d" % (i % 8 + 1)
        self.conn = None
        self.calls = self.errors = 0

    def connect(self):
        x = self.soak.x
        return http.client.HTTPConnection("127.0.0.1", x.port, timeout=self.soak.call_timeout,
                                          source_address=(self.source, 0))

    def call(self, method, *params, conn=None):
        """One call; its Value, or None after counting an error."""
        c = conn or self.conn
        self.calls += 1
        try:
            c.request("POST", "/", xmlrpc.client.dumps(params, method), {"Content-Type": "text/xml"})
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError("HTTP %d" % r.status)
            v = xmlrpc.client.loads(body)[0][0]
            if v.get("Status") != "Success":
                raise RuntimeError("%s" % (v.get("ErrorDescription"),))
            return v["Value"]
        except (OSError, http.client.HTTPException, xmlrpc.client.Error, RuntimeError, ValueError) as e:
            self.errors += 1
            self.soak.note_error("%s %s: %s: %s" % (self.kind, method, type(e).__name__, e))
            if conn is None:            # start again on a fresh connection
                self.conn.close()
                self.conn = self.connect()
            return None

    def login(self, conn=None):
        x = self.soak.x
        return self.call("session.login_with_password", x.username, x.password, "1.1", "soak", conn=conn)

    def run(self):
        self.conn = self.connect()
        try:
            getattr(self, "run_" + self.kind)()
        finally:
            self.conn.close()

    def running(self):
        return not self.soak.stop.is_set()

    def run_reader(self):
        s = self.login()
        host = self.call("host.get_all", s)
        while self.running():
            self.call("VM.get_all_records", s)
            if host:
                self.call("host.get_record", s, host[0])
        self.call("session.logout", s)

    def run_writer(self):
        s = self.login()
        n = 0
        while self.running():
            n += 1
            vm = self.call("VM.create", s, {"name_label": "soak-%d-%d" % (self.i, n)})
            if vm:
                self.call("VM.set_name_description", s, vm, "written by soak client %d" % self.i)
                self.call("VM.get_record", s, vm)
                self.call("VM.destroy", s, vm)
        self.call("session.logout", s)

    def run_waiter(self):
        s = self.login()
        token = ""
        while self.running():
            r = self.call("event.from", s, ["VM"], token, 5.0)
            if r:
                token = r["token"]
        self.call("session.logout", s)

    def run_login(self):
        while self.running():
            c = self.connect()
            try:
                s = self.login(conn=c)
                if s:
                    self.call("host.get_all", s, conn=c)
                    self.call("session.logout", s, conn=c)
            finally:
                c.close()


class Soak:
    def __init__(self, x, clients, seconds, call_timeout=120):
        self.x, self.clients, self.seconds, self.call_timeout = x, clients, seconds, call_timeout
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.error_samples = []
        self.peak_rss = self.peak_fds = 0
        self.smaps_dir = None

    def note_error(self, text):
        with self.lock:
            if len(self.error_samples) < 10:
                self.error_samples.append(text)

    def snapshot(self, name):
        """With --smaps DIR: the daemon's /proc/PID/smaps as DIR/NAME.smaps."""
        if self.smaps_dir:
            with open("/proc/%d/smaps" % self.x.proc.pid) as f, \
                    open(os.path.join(self.smaps_dir, name + ".smaps"), "w") as out:
                out.write(f.read())

    def sample(self):
        pid = self.x.proc.pid
        rss, fds = proc_rss_kib(pid), proc_fds(pid)
        self.peak_rss, self.peak_fds = max(self.peak_rss, rss), max(self.peak_fds, fds)
        return rss, fds

    def monitor(self, done):
        while not done.is_set():
            self.sample()
            done.wait(0.2)

    def warm_up(self):
        """One call of each kind from one client: what a daemon that has
        served anybody holds (PAM and libxml2 loaded, the first buffers)."""
        c = Client(self, 0)
        c.conn = c.connect()
        s = c.login()
        c.call("VM.get_all_records", s)
        vm = c.call("VM.create", s, {"name_label": "soak-warm-up"})
        c.call("event.from", s, ["VM"], "", 0.1)
        if vm:
            c.call("VM.destroy", s, vm)
        c.call("session.logout", s)
        c.conn.close()
        return c.errors

    def burst(self, clients, seconds):
        """clients clients of the mix for seconds; the threads, all ended
        (or given up on after the call timeout)."""
        self.stop.clear()
        threads = [Client(self, i) for i in range(clients)]
        for t in threads:
            t.start()
        self.stop.wait(seconds)
        self.stop.set()
        for t in threads:
            t.join(self.call_timeout + 30)
        return threads

    def settle(self, fds, deadline):
        while time.time() < deadline and self.sample()[1] > fds:
            time.sleep(0.2)

    def run(self, settle, tolerance, allow_kib=0):
        if self.warm_up():
            raise RuntimeError("the warm-up calls failed: %s" % self.error_samples)
        time.sleep(1)
        rss_fresh, fds_fresh = self.sample()
        self.snapshot("fresh")
        # the baseline: after a short burst of the same clients (every thread
        # of the daemon has run, its pools and arenas have seen as many
        # connections at once) once they left: the soak then asks whether
        # memory grows with time, not what a first burst costs
        warm = self.burst(self.clients, 3)
        if any(t.errors for t in warm) or any(t.is_alive() for t in warm):
            raise RuntimeError("the warm-up burst failed: %s" % self.error_samples)
        self.settle(fds_fresh, time.time() + settle)
        time.sleep(TRIM_WAIT)
        rss0, fds0 = self.sample()
        split0 = proc_rss_split_kib(self.x.proc.pid)
        self.snapshot("before")
        self.peak_rss, self.peak_fds = rss0, fds0
        done = threading.Event()
        mon = threading.Thread(target=self.monitor, args=(done,), daemon=True)
        mon.start()
        t0 = time.time()
        threads = self.burst(self.clients, self.seconds)
        elapsed = time.time() - t0
        self.snapshot("end")
        hung = sum(1 for t in threads if t.is_alive())
        # after: descriptors back, then RSS within the tolerance (or the deadline)
        deadline = time.time() + settle
        self.settle(fds0, deadline)
        time.sleep(TRIM_WAIT)
        while time.time() < deadline and self.sample()[0] > rss0 * (1 + tolerance) + allow_kib:
            time.sleep(0.5)
        done.set()
        mon.join()
        rss1, fds1 = self.sample()
        split1 = proc_rss_split_kib(self.x.proc.pid)
        self.snapshot("after")
        calls = sum(t.calls for t in threads)
        errors = sum(t.errors for t in threads) + hung
        by_kind = {k: sum(t.calls for t in threads if t.kind == k) for k in KINDS}
        return dict(clients=self.clients, seconds=round(elapsed, 1), calls=calls, errors=errors, hung=hung,
                    rss_fresh_kib=rss_fresh, fds_fresh=fds_fresh, rss_before_kib=rss0, rss_peak_kib=self.peak_rss, rss_after_kib=rss1,
                    anon_before_kib=split0[0], file_before_kib=split0[1], anon_after_kib=split1[0], file_after_kib=split1[1],
                    fds_before=fds0, fds_peak=self.peak_fds, fds_after=fds1, **{"calls_" + k: by_kind[k] for k in KINDS})


def verdict(r, tolerance, allow_kib=0):
    """The criteria that failed (empty: passed)."""
    bad = []
    if r["errors"]:
        bad.append("%d errors" % r["errors"])
    if r["fds_after"] > r["fds_before"]:
        bad.append("descriptors %d after, %d before" % (r["fds_after"], r["fds_before"]))
    if r["rss_after_kib"] > r["rss_before_kib"] * (1 + tolerance) + allow_kib:
        bad.append("RSS %d KiB after, %d KiB before (more than %d%%%s above)"
                   % (r["rss_after_kib"], r["rss_before_kib"], round(tolerance * 100),
                      " + %d KiB" % allow_kib if allow_kib else ""))
    return bad


def report(r, tolerance, pam, error_samples, allow_kib=0):
    mib = lambda k: "%.1f MiB" % (k / 1024.0)  # noqa: E731
    print("soak: %d clients for %.1f s (logins %s), load average %s"
          % (r["clients"], r["seconds"], "through PAM" if pam else "without authentication",
             " ".join(open("/proc/loadavg").read().split()[:3])))
    print("  calls   %d (%s)" % (r["calls"], ", ".join("%s %d" % (k, r["calls_" + k]) for k in KINDS)))
    print("  errors  %d%s" % (r["errors"], " (%d clients never finished)" % r["hung"] if r["hung"] else ""))
    for e in error_samples:
        print("          " + e)
    print("  RSS     before %s  peak %s  after %s  (%s freshly started)"
          % (mib(r["rss_before_kib"]), mib(r["rss_peak_kib"]), mib(r["rss_after_kib"]), mib(r["rss_fresh_kib"])))
    print("          anon %s, file %s before; anon %s, file %s after"
          % (mib(r["anon_before_kib"]), mib(r["file_before_kib"]), mib(r["anon_after_kib"]), mib(r["file_after_kib"])))
    print("  fds     before %d  peak %d  after %d  (%d freshly started)"
          % (r["fds_before"], r["fds_peak"], r["fds_after"], r["fds_fresh"]))
    bad = verdict(r, tolerance, allow_kib)
    print("  result  %s" % ("PASS" if not bad else "FAIL: " + "; ".join(bad)))
    print("BENCH name=soak " + " ".join("%s=%s" % kv for kv in sorted(r.items())) +
          " status=%s" % ("PASS" if not bad else "FAIL"), flush=True)
    return not bad


def start_xend(xend=None, conf=()):
    if xend:
        os.environ["XEND_BIN"] = os.path.abspath(xend)
    return xendtest.Xend(pam=os.geteuid() == 0, conf=conf).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xend")
    ap.add_argument("--clients", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rss-tolerance", type=float, default=0.2)
    ap.add_argument("--settle", type=float, default=60, help="seconds to wait for the daemon to come back")
    ap.add_argument("--allow-kib", type=int, default=0,
                    help="KiB RSS may exceed the tolerance by (a cache the --conf lines bound)")
    ap.add_argument("--conf", action="append", default=[], help="a line added to the daemon's xend.conf")
    ap.add_argument("--smaps", metavar="DIR",
                    help="save the daemon's /proc/PID/smaps as DIR/{fresh,before,end,after}.smaps")
    a = ap.parse_args()
    try:
        x = start_xend(a.xend, a.conf)
    except Exception as e:  # noqa: BLE001 - any setup failure
        print("soak: setup failed: %s" % e, file=sys.stderr)
        return 2
    try:
        s = Soak(x, a.clients, a.seconds)
        if a.smaps:
            os.makedirs(a.smaps, exist_ok=True)
            s.smaps_dir = a.smaps
        r = s.run(a.settle, a.rss_tolerance, a.allow_kib)
        return 0 if report(r, a.rss_tolerance, x.pam, s.error_samples, a.allow_kib) else 1
    finally:
        x.cleanup()


if __name__ == "__main__":
    sys.exit(main())
