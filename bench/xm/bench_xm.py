#!/usr/bin/python3
"""bench/xm: wall time of `xm list` with N VMs (default 1,000 and 10,000),
in one run beside
  - `virsh -c test:///FILE list --all`, libvirt's test driver with the same
    number of domains defined (FILE: a generated node description), and
  - bench/xm/fetch_records, a minimal libxen program that only fetches the
    VM and VM_metrics records (the floor for any libxen client).
Targets: xm list at or below virsh at 1,000; under 0.5 s at 10,000.

The daemon runs on the sim (tests/lib/xendtest.py); the VMs are defined
through XML-RPC before timing (one in ten of the first 500 running).  Each figure is
the median of --runs rounds (default 5) after one warm-up, every program
once a round in turn, with its CPU time (user + system) beside.
Output: a table, then one "BENCH key=value..." line per size.

--baseline LIBDIR also times xm list and fetch_records with the libxenapi.so.1
in LIBDIR (e.g. a build of main before a change) against the same daemon
in the same run: libxen's ABI is stable, so only the library differs; an
executable LIBDIR/xm (that build's xm/.libs/xm) is the baseline's xm too.
--save-reply FILE also keeps the largest VM.get_all_records reply, for
bench/xm/decode_records (libxen's decoding alone, e.g. under callgrind).

Usage: bench/xm/bench_xm.py [--build DIR] [--sizes 1000,10000] [--runs N] [--quick]
                            [--baseline LIBDIR] [--save-reply FILE]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "lib"))

MIB = 1 << 20


def median_times(jobs, runs):
    """Each (cmd, env) of jobs once as a warm-up, then runs rounds in which
    each runs once in turn (so a change of the machine's load touches them
    alike): per job the median wall time and the median CPU time (user +
    system) of the program itself."""
    walls, cpus = [[] for _ in jobs], [[] for _ in jobs]
    for cmd, env in jobs:
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        for k, (cmd, env) in enumerate(jobs):
            c0, t0 = os.times(), time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            t1, c1 = time.perf_counter(), os.times()
            walls[k].append(t1 - t0)
            cpus[k].append(c1.children_user - c0.children_user + c1.children_system - c0.children_system)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus)]


def define_vms(X, first, count):
    """VM.create count VMs (four connections in parallel); start one in ten."""
    from xendtest import ok

    def worker(lo, hi):
        p = X.unix_proxy()
        s = ok(p.session.login_with_password("root", ""))
        for i in range(lo, hi):
            vm = ok(p.VM.create(s, {
                "name_label": "bench-%05d" % i, "memory_static_max": str(64 * MIB),
                "memory_dynamic_max": str(64 * MIB), "memory_dynamic_min": str(64 * MIB),
                "memory_static_min": str(16 * MIB), "VCPUs_max": "1", "VCPUs_at_startup": "1",
                "PV_kernel": "/boot/vmlinuz", "actions_after_shutdown": "destroy",
                "actions_after_reboot": "restart", "actions_after_crash": "destroy"}))
            if i % 10 == 0 and i < 500:     # the sim host's memory holds ~100 of them
                ok(p.VM.start(s, vm, False))
    step = (count + 3) // 4
    threads = [threading.Thread(target=worker, args=(first + k * step, min(first + count, first + (k + 1) * step)))
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def save_reply(X, path):
    """The raw body of VM.get_all_records, as the server sent it."""
    import http.client
    import socket
    import xmlrpc.client
    from xendtest import ok
    s = ok(X.unix_proxy().session.login_with_password("root", ""))

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(X.unix)
    c = Conn("localhost")
    c.request("POST", "/", xmlrpc.client.dumps((s,), "VM.get_all_records"), {"Content-Type": "text/xml"})
    body = c.getresponse().read()
    with open(path, "wb") as f:
        f.write(body)
    print("bench_xm: saved %d bytes of VM.get_all_records to %s" % (len(body), path))


def virsh_node(path, n):
    """A libvirt test-driver node with n domains (a tenth running)."""
    with open(path, "w") as f:
        f.write("<node>\n")
        for i in range(n):
            f.write("<domain type='test'><name>bench-%05d</name><uuid>%08x-0000-4000-8000-%012x</uuid>"
                    "<memory>65536</memory><vcpu>1</vcpu><os><type>xen</type></os>%s</domain>\n"
                    % (i, i, i, "" if i % 10 == 0 else ""))
        f.write("</node>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD"))
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--baseline", metavar="LIBDIR",
                    help="another libxenapi.so.1 (e.g. before a change): xm list and the fetch timed with it too")
    ap.add_argument("--save-reply", metavar="FILE",
                    help="also save the VM.get_all_records reply at the largest size (for decode_records)")
    a = ap.parse_args()
    build = a.build or (os.getcwd() if os.path.exists("daemon/xend") else os.path.join(HERE, "..", "..", "build"))
    build = os.path.abspath(build)
    os.environ["XEND_BUILDDIR"] = build
    from xendtest import Xend, program_env, real_program
    sizes = [int(x) for x in a.sizes.split(",")]
    runs = 2 if a.quick else a.runs
    # the real programs, not libtool's wrapper scripts (a shell each run)
    xm = real_program("xm/xm", build)
    fetch = real_program("bench/xm/fetch_records", build)
    base = os.path.abspath(a.baseline) if a.baseline else None
    if base and not os.path.exists(os.path.join(base, "libxenapi.so.1")):
        print("bench_xm: no libxenapi.so.1 in %s" % base)
        return 1
    lib_path = os.environ.get("LD_LIBRARY_PATH")
    os.environ.update(program_env(os.environ, build))
    virsh = shutil.which("virsh")
    for p in (xm, fetch):
        if not os.access(p, os.X_OK):
            print("bench_xm: %s is not built" % p)
            return 1
    tmp = tempfile.mkdtemp(prefix="bench-xm-")
    X = Xend(pam=False, tmp=tmp, conf=["sim-config = %s" % os.path.join(tmp, "sim.conf")])
    with open(os.path.join(tmp, "sim.conf"), "w") as f:
        f.write("memory_mib = 65536\ncpus = 8\n")
    results, base_results = [], []
    try:
        X.start(timeout=120)
        env = dict(os.environ, XM_SERVER="unix://" + X.unix)
        have = 0
        for n in sorted(sizes):
            t0 = time.time()
            define_vms(X, have, n - have)
            have = n
            setup = time.time() - t0
            lines = subprocess.run([xm, "list"], env=env, capture_output=True, text=True, check=True).stdout
            assert len(lines.splitlines()) == n + 2, "xm list shows %d lines" % len(lines.splitlines())
            jobs = [([xm, "list"], env), ([fetch, "unix://" + X.unix], env)]
            if virsh:
                node = os.path.join(tmp, "node-%d.xml" % n)
                virsh_node(node, n)
                out = subprocess.run([virsh, "-c", "test://" + node, "list", "--all"], capture_output=True,
                                     text=True, check=True).stdout
                assert out.count("bench-") == n, "virsh lists %d domains" % out.count("bench-")
                jobs.append(([virsh, "-c", "test://" + node, "list", "--all"], env))
            if base:
                benv = dict(env, LD_LIBRARY_PATH=base + (":" + lib_path if lib_path else ""))
                base_xm = os.path.join(base, "xm")
                jobs += [([base_xm if os.access(base_xm, os.X_OK) else xm, "list"], benv),
                         ([fetch, "unix://" + X.unix], benv)]
            t = median_times(jobs, runs)
            t_xm, t_fetch = t[0], t[1]
            t_virsh = t[2] if virsh else None
            results.append((n, t_xm, t_fetch, t_virsh, setup))
            if base:
                base_results.append((n, t[-2], t[-1]))
            if a.save_reply and n == max(sizes):
                save_reply(X, a.save_reply)
    finally:
        X.cleanup()
    def ws(t):
        return "%.3f (%.3f)" % t if t else "n/a"
    print("wall seconds, median (CPU seconds of the program)")
    print("%8s %16s %18s %16s   %s" % ("VMs", "xm list", "libxen fetch", "virsh", "target"))
    for n, t_xm, t_fetch, t_virsh, setup in results:
        if n <= 1000:
            target, met = "<= virsh", t_virsh is not None and t_xm[0] <= t_virsh[0]
        else:
            target, met = "< 0.5 s", t_xm[0] < 0.5
        print("%8d %16s %18s %16s   %s: %s" % (n, ws(t_xm), ws(t_fetch), ws(t_virsh), target,
                                                "met" if met else "MISSED"))
    for n, t_xm, t_fetch in base_results:
        print("%8d %16s %18s   (with the baseline %s)" % (n, ws(t_xm), ws(t_fetch), base))
    for n, t_xm, t_fetch, t_virsh, setup in results:
        print("BENCH name=xm-list vms=%d xm_list_s=%.4f xm_list_cpu_s=%.4f libxen_fetch_s=%.4f "
              "virsh_list_s=%s setup_s=%.1f status=%s"
              % (n, t_xm[0], t_xm[1], t_fetch[0], "%.4f" % t_virsh[0] if t_virsh else "NA", setup,
                 "INFO" if t_virsh is None and n <= 1000 else
                 "PASS" if (t_xm[0] <= t_virsh[0] if n <= 1000 else t_xm[0] < 0.5) else "FAIL"))
    for n, t_xm, t_fetch in base_results:
        print("BENCH name=xm-list-baseline vms=%d xm_list_s=%.4f xm_list_cpu_s=%.4f libxen_fetch_s=%.4f"
              % (n, t_xm[0], t_xm[1], t_fetch[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
