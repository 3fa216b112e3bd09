#!/usr/bin/python3
"""Restart reconciliation: kill -9 xend while domains run (and are paused or
suspended), restart: domains re-attached to their VMs with the same domid;
a domain created behind xend's back (xend-simctl create-foreign) is adopted
as a transient VM (never written to disk), at start-up and at run time; a
VM whose domain vanished while xend was away is Halted; a suspended VM
stays Suspended and resumes."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, BUILDDIR, Xend, ok, run  # noqa: E402

MIB = 1 << 20


def simctl(x, *args):
    r = subprocess.run([os.path.join(BUILDDIR, "xenops", "sim", "xend-simctl"), "--state-dir",
                        os.path.join(x.state, "sim")] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def new_vm(p, s, name, **extra):
    rec = {"name_label": name, "memory_static_max": str(128 * MIB), "memory_dynamic_max": str(128 * MIB),
           "VCPUs_max": "1", "VCPUs_at_startup": "1", "PV_kernel": "/boot/vmlinuz",
           "actions_after_shutdown": "destroy"}
    rec.update(extra)
    return ok(p.VM.create(s, rec))


def test_reattach_adopt_and_halt():
    x = Xend(pam=False)
    try:
        x.start()
        p, s = x.unix_session()
        run_vm, paused_vm, gone_vm, susp_vm, off_vm = (new_vm(p, s, n) for n in
                                                        ("run", "paused", "gone", "susp", "off"))
        ok(p.VM.start(s, run_vm, False))
        ok(p.VM.start(s, paused_vm, True))
        ok(p.VM.start(s, gone_vm, False))
        ok(p.VM.start(s, susp_vm, False))
        ok(p.VM.suspend(s, susp_vm))
        ok(p.VM.start(s, off_vm, False))
        domids = {v: ok(p.VM.get_domid(s, v)) for v in (run_vm, paused_vm, gone_vm, off_vm)}
        x.kill9()
        # while xend is away: one domain is destroyed, one guest powers off, one foreign domain appears
        simdir = os.path.join(x.state, "sim")
        listing = simctl(x, "list")
        assert gone_vm in listing
        gone_files = [f for f in os.listdir(os.path.join(simdir, "domains")) if f.startswith(domids[gone_vm] + ".")
                      or f.startswith(domids[gone_vm] + "-")]
        for f in gone_files:
            os.unlink(os.path.join(simdir, "domains", f))
        assert gone_vm not in simctl(x, "list"), "the test could not remove the domain"
        x.start()
        p, s = x.unix_session()
        assert ok(p.VM.get_power_state(s, run_vm)) == "Running"
        assert ok(p.VM.get_domid(s, run_vm)) == domids[run_vm]
        host = ok(p.host.get_all(s))[0]
        assert ok(p.VM.get_resident_on(s, run_vm)) == host
        assert ok(p.VM.get_power_state(s, paused_vm)) == "Paused"
        assert ok(p.VM.get_domid(s, paused_vm)) == domids[paused_vm]
        assert ok(p.VM.get_power_state(s, gone_vm)) == "Halted"
        assert ok(p.VM.get_domid(s, gone_vm)) == "-1"
        assert ok(p.VM.get_power_state(s, susp_vm)) == "Suspended"
        ok(p.VM.resume(s, susp_vm, False))
        # the re-attached domains are fully usable
        ok(p.VM.clean_shutdown(s, run_vm))
        assert ok(p.VM.get_power_state(s, run_vm)) == "Halted"
        ok(p.VM.unpause(s, paused_vm))
        # a foreign domain at run time is adopted, transient
        simctl(x, "create-foreign", "stranger", "64")
        deadline = time.time() + DEADLINE
        adopted = []
        while not adopted and time.time() < deadline:
            adopted = [v for v, r in ok(p.VM.get_all_records(s)).items() if r["name_label"] == "stranger"]
            time.sleep(0.1)
        assert len(adopted) == 1, "the foreign domain was not adopted"
        rec = ok(p.VM.get_record(s, adopted[0]))
        assert rec["power_state"] == "Running" and rec["other_config"].get("xend_transient") == "true"
        assert int(rec["memory_static_max"]) == 64 * MIB
        assert not os.path.exists(os.path.join(x.state, "VM", adopted[0] + ".xml")), "transient VMs are not written"
        x.kill9()
        x.start()
        p, s = x.unix_session()
        again = [v for v, r in ok(p.VM.get_all_records(s)).items() if r["name_label"] == "stranger"]
        assert again == adopted, "adopted again at start-up with the domain's uuid"
        assert ok(p.VM.get_power_state(s, paused_vm)) == "Running"
        # the adopted VM can be shut down; then it is gone
        ok(p.VM.hard_shutdown(s, again[0]))
        for v in (paused_vm, susp_vm, off_vm):
            ok(p.VM.hard_shutdown(s, v))
    finally:
        x.cleanup()


if __name__ == "__main__":
    run([test_reattach_adopt_and_halt])
