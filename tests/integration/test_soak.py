#!/usr/bin/python3
"""A short soak (bench/soak.py, whose full run is bench/soak.sh): 32 clients
for 10 s mixing reads, writes, event waiters and logins (through PAM as root,
else on a listener without authentication) on the real daemon.  Criteria
that do not depend on the machine's speed: no call fails, the descriptors
come back to their baseline, and RSS comes back within 20% of it plus the
event log's byte bound (4 MiB here: how much of it a run fills depends on how
many changes the machine makes in 10 s)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
from xendtest import run  # noqa: E402
import soak  # noqa: E402

EVENT_LOG_KIB = 4096


def memory_checker(pid):
    """The memory checker xend runs under, if any: its RSS then follows the
    checker's bookkeeping (ASan's quarantine keeps freed memory), not xend's."""
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    for lib, name in (("libasan", "AddressSanitizer"), ("vgpreload_memcheck", "valgrind")):
        if lib in maps:
            return name
    return None


def test_short_soak():
    x = soak.start_xend(conf=["event-log-bytes = %dK" % EVENT_LOG_KIB])
    try:
        tolerance = 0.2
        checker = memory_checker(x.proc.pid)
        if checker:
            # said, not silently skipped: calls and descriptors are still judged
            print("RSS not judged: xend runs under %s, which keeps freed memory" % checker)
            tolerance = float("inf")
        s = soak.Soak(x, 32, 10)
        r = s.run(settle=120, tolerance=tolerance, allow_kib=EVENT_LOG_KIB)
        passed = soak.report(r, tolerance, x.pam, s.error_samples, EVENT_LOG_KIB)
        assert r["calls"] > 32, r      # every client made calls
        assert passed, soak.verdict(r, tolerance, EVENT_LOG_KIB)
    finally:
        x.cleanup()


if __name__ == "__main__":
    run([test_short_soak])
