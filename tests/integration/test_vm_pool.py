#!/usr/bin/python3
"""VM.cpu_pool and VM.pool_name (xend 4.x's record members, Xen 4.4.0's
libxen reads both): Pool-0 unless set, on every path that makes a VM (create,
clone, dom0, loaded state); set_pool_name and VM.create set the field; no pool
runs a halted or a started VM on these backends (none is ever activated); a
state directory written before pool_name was a field (the name kept in
other_config:cpu_pool, or no name) loads into the field."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, fails, new_vm, ok, run  # noqa: E402

DOM0 = "00000000-0000-0000-0000-000000000000"


def test_defaults_and_setter():
    with Xend(pam=False) as x:
        p, s = x.unix_session()
        vm = new_vm(p, s, "pool-default")
        rec = ok(p.VM.get_record(s, vm))
        assert rec["pool_name"] == "Pool-0" and rec["cpu_pool"] == [], rec
        assert ok(p.VM.get_pool_name(s, vm)) == "Pool-0"
        assert ok(p.VM.get_pool_name(s, DOM0)) == "Pool-0"
        assert ok(p.VM.get_record(s, DOM0))["cpu_pool"] == []
        ok(p.VM.set_pool_name(s, vm, "Pool-1"))
        assert ok(p.VM.get_pool_name(s, vm)) == "Pool-1"
        assert "cpu_pool" not in ok(p.VM.get_other_config(s, vm)), "the field, not other_config"
        # the Async form stays, as the explicit message had it
        task = ok(p.Async.VM.get_pool_name(s, vm))
        assert task
        clone = ok(p.VM.clone(s, vm, "pool-clone"))
        assert ok(p.VM.get_pool_name(s, clone)) == "Pool-1"
        named = ok(p.VM.create(s, {"name_label": "pool-named", "pool_name": "Pool-2", "VCPUs_max": "1",
                                   "VCPUs_at_startup": "1"}))
        assert ok(p.VM.get_pool_name(s, named)) == "Pool-2"
        ok(p.VM.start(s, vm, False))
        assert ok(p.VM.get_cpu_pool(s, vm)) == [], "no cpu_pool is activated: none runs the VM"
        ok(p.VM.hard_shutdown(s, vm))
        assert ok(p.VM.get_record(s, vm))["cpu_pool"] == []
        fails(p.VM.set_pool_name(s, "no-such-vm", "Pool-1"), "HANDLE_INVALID", "VM", "no-such-vm")
        fails(p.VM.set_pool_name(s, vm, "x" * 256), "VALUE_NOT_SUPPORTED")
        pool = ok(p.cpu_pool.create(s, {"name_label": "Pool-1", "name_description": "", "auto_power_on": False,
                                         "ncpu": "1", "sched_policy": "credit", "proposed_CPUs": [],
                                         "other_config": {}}))
        assert ok(p.cpu_pool.get_started_VMs(s, pool)) == []


def test_older_state_loads_into_the_field():
    x = Xend(pam=False)
    try:
        x.start()
        p, s = x.unix_session()
        kept = new_vm(p, s, "kept-in-other-config")
        bare = new_vm(p, s, "no-pool-name")
        x.stop()
        for vm, entry in ((kept, '<entry key="cpu_pool">Pool-7</entry>'), (bare, "")):
            path = os.path.join(x.state, "VM", vm + ".xml")
            text = open(path, encoding="utf-8").read()
            older, n = re.subn(r'\s*<field name="pool_name">[^<]*</field>', "", text)
            assert n == 1, text
            older = older.replace('<field name="other_config">', '<field name="other_config">' + entry, 1)
            assert entry in older, older
            with open(path, "w", encoding="utf-8") as f:
                f.write(older)
        for _ in range(2):          # loaded, then kept through a restart
            x.start()
            p, s = x.unix_session()
            assert ok(p.VM.get_pool_name(s, kept)) == "Pool-7"
            assert "cpu_pool" not in ok(p.VM.get_other_config(s, kept))
            assert ok(p.VM.get_pool_name(s, bare)) == "Pool-0"
            assert ok(p.VM.get_cpu_pool(s, kept)) == []
            x.stop()
    finally:
        x.cleanup()


if __name__ == "__main__":
    run([test_defaults_and_setter, test_older_state_loads_into_the_field])
