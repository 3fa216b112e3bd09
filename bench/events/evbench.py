#!/usr/bin/python3
"""Events benchmark: N clients waiting in event.next at once (bench/xload --hold),
xend's thread count and RSS while they wait, event delivery latency while a
writer changes a VM 100 times a second, and ordinary call throughput with and
without the waiters.  Prints a report and one "EVBENCH key=value ..." line.

Usage: evbench.py BUILDDIR [--waiters N] [--rate HZ] [--seconds S]
Needs RLIMIT_NOFILE >= waiters + 1000 for itself, xload and xend (run.sh raises it).
"""
import argparse
import multiprocessing as mp
import os
import queue
import threading
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ok(r):
    if r.get("Status") != "Success":
        raise RuntimeError("call failed: %r" % (r.get("ErrorDescription"),))
    return r["Value"]


def body(method, *params):
    return xmlrpc.client.dumps(tuple(params), method).replace("\n", "")


def xend_threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def xend_rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def writer(url, session, vm, rate, seconds, start):
    p = xmlrpc.client.ServerProxy(url)
    while time.time() < start:
        time.sleep(0.001)
    period = 1.0 / rate
    n = 0
    t_next = time.time()
    end = start + seconds
    while time.time() < end:
        ok(p.VM.set_name_label(session, vm, "t%.6f" % time.time()))
        n += 1
        t_next += period
        d = t_next - time.time()
        if d > 0:
            time.sleep(d)
    return n


def reader(url, session, q):
    p = xmlrpc.client.ServerProxy(url)
    lat = []
    while True:
        for e in ok(p.event.next(session)):
            now = time.time()
            name = e.get("snapshot", {}).get("name_label", "")
            if name == "end":
                q.put(lat)
                return
            if e["class"] == "VM" and e["operation"] == "mod" and name.startswith("t"):
                lat.append((now - float(name[1:])) * 1000.0)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q / 100.0))] if v else float("nan")


def xload_throughput(xload, port, bodyfile, seconds):
    out = subprocess.run([xload, "--tcp", "127.0.0.1:%d" % port, "--body", bodyfile, "--connections", "16",
                          "--duration", str(seconds), "--warmup", "1", "--expect", "Success", "--quiet"],
                         capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("XLOAD ")][-1]
    kv = dict(x.split("=", 1) for x in line.split()[1:])
    return float(kv["rps"]), float(kv["p99_us"]) / 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir")
    ap.add_argument("--waiters", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.waiters + 1000:
        sys.exit("RLIMIT_NOFILE %d is too low for %d waiters (run bench/events/run.sh)" % (soft, a.waiters))
    xend = os.path.join(a.builddir, "daemon", "xend")
    xload = os.path.join(a.builddir, "bench", "xload")
    tmp = tempfile.mkdtemp(prefix="evbench-")
    port = free_port()
    url = "http://127.0.0.1:%d/" % port
    conf = os.path.join(tmp, "xend.conf")
    with open(conf, "w") as f:
        f.write("state-dir = %s/state\nlisten = http:127.0.0.1:%d auth=none\n" % (tmp, port))
        f.write("workers = 4\nhttp-threads = 2\nlog-file = %s/xend.log\nlog-level = warning\n" % tmp)
    proc = subprocess.Popen([xend, "--foreground", "--config", conf, "--backend", "sim"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "stderr"), "w"))
    holder = None
    try:
        p = xmlrpc.client.ServerProxy(url)
        for _ in range(200):
            try:
                p.system.listMethods()
                break
            except OSError:
                time.sleep(0.05)
        s = ok(p.session.login_with_password("root", ""))
        vm = ok(p.VM.create(s, {"name_label": "bench"}))
        host = ok(p.host.get_all(s))[0]
        tput_body = os.path.join(tmp, "get_record.xml")
        with open(tput_body, "w") as f:
            f.write(body("host.get_record", s, host))

        threads_idle = xend_threads(proc.pid)
        rps0, p99_0 = xload_throughput(xload, port, tput_body, a.seconds)

        # N sessions, each registered for a class that does not change (SR)
        def mk(_):
            q = xmlrpc.client.ServerProxy(url)
            ss = ok(q.session.login_with_password("root", ""))
            ok(q.event.register(ss, ["SR"]))
            return ss
        t0 = time.time()
        with ThreadPoolExecutor(16) as ex:
            sessions = list(ex.map(mk, range(a.waiters)))
        t_setup = time.time() - t0
        bodies = os.path.join(tmp, "next.txt")
        with open(bodies, "w") as f:
            for ss in sessions:
                f.write(body("event.next", ss) + "\n")
        holder = subprocess.Popen([xload, "--tcp", "127.0.0.1:%d" % port, "--bodies", bodies,
                                   "--hold", str(a.waiters), "--duration", "600", "--interval", "0.5"],
                                  stdout=subprocess.PIPE, text=True)
        waiting = 0
        t0 = time.time()
        while time.time() - t0 < 120:
            line = holder.stdout.readline()
            m = re.search(r"waiting=(\d+)", line or "")
            if m:
                waiting = int(m.group(1))
                if waiting >= a.waiters:
                    break
        t_hold = time.time() - t0
        time.sleep(1.0)
        threads_waiting = xend_threads(proc.pid)
        rss_waiting = xend_rss_mb(proc.pid)

        # delivery latency: one client registered for VM, a writer at --rate Hz
        ls = ok(p.session.login_with_password("root", ""))
        ok(p.event.register(ls, ["VM"]))
        start = time.time() + 1.0
        q = queue.Queue()
        rd = threading.Thread(target=reader, args=(url, ls, q), daemon=True)
        rd.start()
        with mp.Pool(1) as pool:
            nw = pool.apply(writer, (url, s, vm, a.rate, a.seconds, start))
        ok(p.VM.set_name_label(s, vm, "end"))
        lat = q.get(timeout=30)
        rd.join(5)

        rps1, p99_1 = xload_throughput(xload, port, tput_body, a.seconds)
        threads_after = xend_threads(proc.pid)
        # still waiting?
        still = waiting
        holder.terminate()
        rest = holder.communicate(timeout=30)[0]
        for line in rest.splitlines():
            m = re.search(r"waiting=(\d+)", line)
            if m:
                still = int(m.group(1))
        rss_end = xend_rss_mb(proc.pid)

        print("waiters             %d held (setup %.1f s, all waiting after %.1f s; %d still waiting at the end)"
              % (waiting, t_setup, t_hold, still))
        print("xend threads        idle %d, with waiters %d, after load %d (workers = 4, http-threads = 2, 1 listener)"
              % (threads_idle, threads_waiting, threads_after))
        print("xend RSS            %.0f MB with waiters, %.0f MB at the end" % (rss_waiting, rss_end))
        print("delivery latency    %d writes, %d events seen: p50 %.2f ms  p99 %.2f ms  max %.2f ms"
              % (nw, len(lat), pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan")))
        print("throughput          %.0f req/s without waiters (p99 %.2f ms), %.0f req/s with (p99 %.2f ms): %.0f%%"
              % (rps0, p99_0, rps1, p99_1, 100.0 * rps1 / rps0))
        print("EVBENCH waiters=%d waiting=%d threads_idle=%d threads_waiting=%d threads_after=%d rss_mb=%.0f "
              "lat_p50_ms=%.3f lat_p99_ms=%.3f events=%d writes=%d rps_without=%.0f rps_with=%.0f ratio=%.3f"
              % (a.waiters, waiting, threads_idle, threads_waiting, threads_after, rss_waiting,
                 pct(lat, 50), pct(lat, 99), len(lat), nw, rps0, rps1, rps1 / rps0))
    finally:
        if proc.poll() is not None:
            print("xend exited early with status %s (see %s)" % (proc.returncode, tmp), file=sys.stderr)
        if holder and holder.poll() is None:
            holder.kill()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not os.environ.get("EVBENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
