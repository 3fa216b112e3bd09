#!/usr/bin/python3
"""`xm create` -> the guest's console marker beside `xl create` of the
equivalent xl.cfg, on a real Xen (run in dom0: bench/xen-create-console.sh
boots Xen under QEMU and runs this there; in a Xen dom0 run it directly from
the build directory, as root).

Each round times, on a terminal as a person would run them, `xl create -c
/guest/pv-hold.cfg` and `xm create -c` of the Python-style file of the same
guest, from the command's start until the marker (XQ-GUEST-HELLO) appears on
the terminal, then destroys the guest; the two alternate, xl first.  xend
runs with the xen backend on a temporary state dir.  Prints the medians, their
ratio and a BENCH line.  Target (issue 13): xm within 1.1x of xl."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "xen-daemon"))
from xendtest import Xend, program_env, real_program  # noqa: E402
from xenguest import GUEST, Terminal, guest_cfg, wait, warm, xl, xm_cfg  # noqa: E402

CFG = "pv-hold"
TARGET = 1.10


STARTED = b"Started domain"     # xm create's line once VM.start returned
CALL = re.compile(r"debug: call: (\S+) .* ([0-9.]+) ms ")


def xend_calls(log, since):
    """{method: total ms} of the calls xend's debug log has after offset
    since (its log is the bench's: log-level debug)."""
    ms = {}
    with open(log) as f:
        f.seek(since)
        for line in f:
            m = CALL.search(line)
            if m:
                ms[m.group(1)] = ms.get(m.group(1), 0.0) + float(m.group(2))
    return ms


def to_marker(argv, env, destroy, split=None):
    """Seconds from starting argv on a terminal to the marker on it; then
    destroy() ends the guest, and with it the command's console.  split, a
    list, gets the seconds to xm create's "Started domain" line."""
    con = Terminal(argv, env=env, note=(STARTED,))
    try:
        wait(lambda: con.seen or con.exited(), 300, "the marker on " + " ".join(argv))
        if not con.seen:
            raise RuntimeError("%s ended (exit %s) without the marker:\n%s" % (" ".join(argv), con.status,
                                                                                con.text()))
        destroy()
        end = time.time() + 60      # the console ends with the guest; killed below if not
        while not con.exited() and time.time() < end:
            time.sleep(0.1)
        if split is not None and con.noted[STARTED]:
            split.append(con.noted[STARTED] - con.t0)
        return con.seen - con.t0
    finally:
        con.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not os.path.exists("/proc/xen/capabilities") or "control_d" not in open("/proc/xen/capabilities").read():
        print("BENCH name=xen-create-console status=SKIP reason=not-a-xen-dom0")
        return 0
    # xm as installed, not libtool's wrapper script: under TCG its bash, seds
    # and forks cost seconds that no installed xm pays (xl is installed too)
    xm_bin = real_program("xm/xm")
    xl_name = guest_cfg(CFG).get("name", "xq-" + CFG)
    X = Xend(backend="xen", pam=False, conf=["kernel-dir = %s" % GUEST])
    try:
        X.start(timeout=600)
        env = program_env(dict(os.environ, XM_SERVER="unix://" + X.unix, XM_CONFIG_FILE="/nonexistent/xm-config.xml"))
        path = os.path.join(X.tmp, "bench-pv.cfg")
        with open(path, "w") as f:
            f.write(xm_cfg(CFG, "xm-bench"))
        warm(CFG)
        xls, xms = [], []
        for r in range(a.rounds):
            xls.append(to_marker(["xl", "create", "-c", os.path.join(GUEST, CFG + ".cfg")], None,
                                 lambda: xl("destroy", xl_name)))
            started = []
            since = os.path.getsize(X.log)
            xms.append(to_marker([xm_bin, "create", "-c", path], env,
                                 lambda: subprocess.run([xm_bin, "destroy", "xm-bench"], env=env, check=True),
                                 started))
            ms = xend_calls(X.log, since)
            before = sum(ms.get(m, 0.0) for m in ("session.login_with_password", "VM.create", "console.create"))
            print("round %d: xl create -> marker %.2f s, xm create -> marker %.2f s (VM started after %s s; "
                  "in xend: VM.start %.2f s, login + VM.create + console.create %.3f s)"
                  % (r + 1, xls[-1], xms[-1], "%.2f" % started[-1] if started else "?",
                     ms.get("VM.start", 0.0) / 1000, before / 1000), flush=True)
        xl_s, xm_s = statistics.median(xls), statistics.median(xms)
        ratio = xm_s / xl_s
        print("%-36s %8s" % ("median of %d rounds (dom0 clock)" % a.rounds, "seconds"))
        print("%-36s %8.2f" % ("xl create -c " + CFG + ".cfg", xl_s))
        print("%-36s %8.2f" % ("xm create -c (Python-style file)", xm_s))
        print("ratio xm/xl %.2f (target <= %.2f)" % (ratio, TARGET))
        print("BENCH name=xen-create-console rounds=%d xl_s=%.2f xm_s=%.2f ratio=%.2f target=%.2f status=%s"
              % (a.rounds, xl_s, xm_s, ratio, TARGET, "PASS" if ratio <= TARGET else "FAIL"))
    finally:
        X.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
