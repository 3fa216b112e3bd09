#!/usr/bin/python3
"""The VM lifecycle on the sim backend: every lifecycle call from every power
state (Halted, Running, Paused, Suspended, Crashed) with its expected result
or exact VM_BAD_POWER_STATE error; live values (domid, resident_on,
VM_metrics); free-memory and CPU checks; a disabled host; live memory/vCPU
changes; clone; save/restore; guest-initiated shutdown, reboot and crash
(through xend-simctl) with every actions_after_* value; the clean-shutdown
timeout."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, BUILDDIR, ok, fails, wait_until, run_on_daemon  # noqa: E402

X = None
P = None
S = None
MIB = 1 << 20


def simctl(*args):
    r = subprocess.run([os.path.join(BUILDDIR, "xenops", "sim", "xend-simctl"), "--state-dir",
                        os.path.join(X.state, "sim")] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def new_vm(name="vm", mem=256 * MIB, vcpus=1, **extra):
    rec = {"name_label": name, "memory_static_max": str(mem), "memory_dynamic_max": str(mem),
           "memory_dynamic_min": str(mem // 2), "memory_static_min": str(16 * MIB),
           "VCPUs_max": str(max(vcpus, 2)), "VCPUs_at_startup": str(vcpus), "PV_kernel": "/boot/vmlinuz",
           "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
           "actions_after_crash": "destroy"}
    rec.update(extra)
    return ok(P.VM.create(S, rec))


def power(vm):
    return ok(P.VM.get_power_state(S, vm))


def wait_power(vm, state, timeout=DEADLINE):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if power(vm) == state:
            return
        time.sleep(0.05)
    raise AssertionError("VM %s is %s, not %s" % (vm, power(vm), state))


def vm_in(state):
    if state == "Crashed":
        vm = new_vm(actions_after_crash="preserve")
        ok(P.VM.start(S, vm, False))
        simctl("crash", ok(P.VM.get_domid(S, vm)))
        wait_power(vm, "Crashed")
        return vm
    vm = new_vm()
    if state == "Running":
        ok(P.VM.start(S, vm, False))
    elif state == "Paused":
        ok(P.VM.start(S, vm, True))
    elif state == "Suspended":
        ok(P.VM.start(S, vm, False))
        ok(P.VM.suspend(S, vm))
    assert power(vm) == state
    return vm


STATES = ["Halted", "Running", "Paused", "Suspended", "Crashed"]
# call -> (the state named in VM_BAD_POWER_STATE, {allowed state: resulting state})
MATRIX = {
    "start": ("Halted", {"Halted": "Running"}),
    "start_paused": ("Halted", {"Halted": "Paused"}),
    "pause": ("Running", {"Running": "Paused"}),
    "unpause": ("Paused", {"Paused": "Running"}),
    "suspend": ("Running", {"Running": "Suspended"}),
    "resume": ("Suspended", {"Suspended": "Running"}),
    "resume_paused": ("Suspended", {"Suspended": "Paused"}),
    "clean_shutdown": ("Running", {"Running": "Halted"}),
    "clean_reboot": ("Running", {"Running": "Running"}),
    "hard_shutdown": ("Running", {"Running": "Halted", "Paused": "Halted", "Crashed": "Halted",
                                  "Suspended": "Halted"}),
    "hard_reboot": ("Running", {"Running": "Running", "Paused": "Running", "Crashed": "Running"}),
    "clone": ("Halted", {"Halted": "Halted"}),
    "destroy": ("Halted", {"Halted": None, "Suspended": None}),
    "send_sysrq": ("Running", {"Running": "Running"}),
    "send_trigger": ("Running", {"Running": "Running"}),
    "save": ("Running", {"Running": "Halted", "Paused": "Halted"}),
    "set_VCPUs_number_live": ("Running", {"Running": "Running", "Paused": "Paused"}),
    "set_memory_dynamic_max_live": ("Running", {"Running": "Running", "Paused": "Paused"}),
    "set_memory_dynamic_min_live": ("Running", {"Running": "Running", "Paused": "Paused"}),
    "add_to_VCPUs_params_live": ("Running", {"Running": "Running", "Paused": "Paused"}),
}


def call(op, vm):
    v = P.VM
    if op == "start":
        return v.start(S, vm, False)
    if op == "start_paused":
        return v.start(S, vm, True)
    if op == "resume":
        return v.resume(S, vm, False)
    if op == "resume_paused":
        return v.resume(S, vm, True)
    if op == "clone":
        return v.clone(S, vm, "copy")
    if op == "send_sysrq":
        return v.send_sysrq(S, vm, "s")
    if op == "send_trigger":
        return v.send_trigger(S, vm, "nmi")
    if op == "save":
        return v.save(S, vm, os.path.join(X.state, "images", "save-%s" % vm))
    if op == "set_VCPUs_number_live":
        return v.set_VCPUs_number_live(S, vm, "2")
    if op == "set_memory_dynamic_max_live":
        return v.set_memory_dynamic_max_live(S, vm, str(200 * MIB))
    if op == "set_memory_dynamic_min_live":
        return v.set_memory_dynamic_min_live(S, vm, str(64 * MIB))
    if op == "add_to_VCPUs_params_live":
        return v.add_to_VCPUs_params_live(S, vm, "weight", "512")
    return getattr(v, op)(S, vm)


def test_matrix():
    checked = 0
    for state in STATES:
        for op, (named, allowed) in MATRIX.items():
            vm = vm_in(state)
            r = call(op, vm)
            if state in allowed:
                assert r["Status"] == "Success", (state, op, r)
                want = allowed[state]
                if want is None:
                    fails(P.VM.get_record(S, vm), "HANDLE_INVALID", "VM", vm)
                else:
                    assert power(vm) == want, (state, op, power(vm), want)
            else:
                assert r == {"Status": "Failure",
                             "ErrorDescription": ["VM_BAD_POWER_STATE", vm, named, state]}, (state, op, r)
                assert power(vm) == state, (state, op, power(vm))
            checked += 1
            if vm in ok(P.VM.get_all(S)) and power(vm) in ("Running", "Paused", "Crashed"):
                ok(P.VM.hard_shutdown(S, vm))
    assert checked == len(STATES) * len(MATRIX)


def test_live_values():
    vm = new_vm("live", mem=300 * MIB, vcpus=2)
    assert ok(P.VM.get_domid(S, vm)) == "-1"
    ok(P.VM.start(S, vm, False))
    host = ok(P.host.get_all(S))[0]
    assert int(ok(P.VM.get_domid(S, vm))) > 0
    assert ok(P.VM.get_resident_on(S, vm)) == host
    assert vm in ok(P.host.get_resident_VMs(S, host))
    m = ok(P.VM.get_metrics(S, vm))
    # live values come from the backend at the next metrics tick
    rec = wait_until(lambda: (lambda r: r if r["VCPUs_number"] == "2" and
                                        sorted(r["VCPUs_utilisation"].keys()) == ["0", "1"] else None)(
        ok(P.VM_metrics.get_record(S, m))), "VM_metrics shows the running VM's 2 vCPUs")
    assert int(rec["memory_actual"]) == 300 * MIB, rec
    assert rec["VCPUs_number"] == "2", rec
    assert sorted(rec["VCPUs_utilisation"].keys()) == ["0", "1"], rec
    assert rec["state"] == ["running"], rec
    ok(P.VM.set_VCPUs_number_live(S, vm, "1"))
    ok(P.VM.set_memory_dynamic_max_live(S, vm, str(200 * MIB)))
    rec = wait_until(lambda: (lambda r: r if r["VCPUs_number"] == "1" and
                                        int(r["memory_actual"]) == 200 * MIB else None)(
        ok(P.VM_metrics.get_record(S, m))), "VM_metrics follows the live vCPU and memory changes")
    assert rec["VCPUs_number"] == "1", rec
    assert int(rec["memory_actual"]) == 200 * MIB, rec
    fails(P.VM.set_VCPUs_number_live(S, vm, "3"), "VALUE_NOT_SUPPORTED")
    fails(P.VM.set_memory_dynamic_max_live(S, vm, str(400 * MIB)), "MEMORY_CONSTRAINT_VIOLATION")
    ok(P.VM.hard_shutdown(S, vm))
    assert ok(P.VM.get_domid(S, vm)) == "-1"
    assert ok(P.VM.get_resident_on(S, vm)) == ""


def test_not_enough_memory_or_cpus():
    free = int(ok(P.host_metrics.get_memory_free(S, ok(P.host.get_metrics(S, ok(P.host.get_all(S))[0])))))
    big = (free // MIB + 1024) * MIB
    vm = new_vm("big", mem=big)
    r = P.VM.start(S, vm, False)
    ed = fails(r, "HOST_NOT_ENOUGH_FREE_MEMORY")
    assert int(ed[1]) == big and int(ed[2]) < big, ed
    assert power(vm) == "Halted"
    cpus = len(ok(P.host.get_host_CPUs(S, ok(P.host.get_all(S))[0]))) or 4
    vm2 = new_vm("wide", vcpus=64)
    ed = fails(P.VM.start(S, vm2, False), "INSUFFICIENT_CPUS")
    assert ed[1] == "64", ed
    assert cpus > 0
    vm3 = new_vm("bad-mem", memory_dynamic_max=str(512 * MIB))
    fails(P.VM.start(S, vm3, False), "MEMORY_CONSTRAINT_VIOLATION")


def test_disabled_host_refuses_start():
    host = ok(P.host.get_all(S))[0]
    vm = new_vm("dis")
    ok(P.host.disable(S, host))
    try:
        fails(P.VM.start(S, vm, False), "HOST_DISABLED", host)
    finally:
        ok(P.host.enable(S, host))
    ok(P.VM.start(S, vm, False))
    ok(P.VM.hard_shutdown(S, vm))


def test_clone_copies_devices():
    vm = new_vm("orig", other_config={"k": "v"})
    net = ok(P.network.get_all(S))[0]
    ok(P.VIF.create(S, {"VM": vm, "network": net, "device": "0", "MAC": "00:16:3e:00:00:01", "MTU": "1500",
                        "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    sr = ok(P.SR.get_by_name_label(S, "QCoW"))[0]
    vdi = ok(P.VDI.create(S, {"name_label": "d", "SR": sr, "virtual_size": str(MIB), "type": "user",
                              "sharable": False, "read_only": False, "other_config": {}}))
    ok(P.VBD.create(S, {"VM": vm, "VDI": vdi, "device": "xvda", "bootable": True, "mode": "RW", "type": "Disk",
                        "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    c = ok(P.VM.clone(S, vm, "copy"))
    assert c != vm
    rc, ro = ok(P.VM.get_record(S, c)), ok(P.VM.get_record(S, vm))
    assert rc["name_label"] == "copy" and rc["uuid"] == c and rc["power_state"] == "Halted"
    assert rc["other_config"] == {"k": "v"} and rc["memory_static_max"] == ro["memory_static_max"]
    assert len(rc["VBDs"]) == 1 and len(rc["VIFs"]) == 1 and rc["metrics"] != ro["metrics"]
    assert set(rc["VBDs"]).isdisjoint(ro["VBDs"])
    assert ok(P.VBD.get_VDI(S, rc["VBDs"][0])) == vdi
    assert ok(P.VIF.get_MAC(S, rc["VIFs"][0])) != "00:16:3e:00:00:01"


def test_save_and_restore():
    vm = new_vm("saved")
    ok(P.VM.start(S, vm, False))
    path = os.path.join(X.state, "images", "saved.img")   # below image-dir (default <state>/images)
    ok(P.VM.save(S, vm, path))
    assert power(vm) == "Halted" and os.path.getsize(path) > 0
    tail = open(path, "rb").read()[-33:]
    assert tail.startswith(b"XEND-SAVE 1 ") and tail.endswith(b"\n"), tail
    r = ok(P.VM.restore(S, path, True))
    assert r == vm and power(vm) == "Paused"
    fails(P.VM.restore(S, path, False), "VM_BAD_POWER_STATE", vm, "Halted", "Paused")
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))
    r = ok(P.VM.restore(S, path, False))      # the record comes back from the image
    assert r == vm and power(vm) == "Running" and ok(P.VM.get_name_label(S, vm)) == "saved"
    ok(P.VM.hard_shutdown(S, vm))
    bogus = os.path.join(X.state, "images", "bogus.img")
    open(bogus, "w").write("not an image")
    fails(P.VM.restore(S, bogus, False), "VALUE_NOT_SUPPORTED", "src", bogus)


def guest(vm, what):
    simctl(what, ok(P.VM.get_domid(S, vm)))


def settled(vm, state, d0, timeout=DEADLINE):
    """Waits until vm is in state and, when that is Running, on a domain
    other than d0; the domid is read first, so a restart half done (old
    domain gone, new one not built: Halted, domid -1) never passes."""
    deadline = time.time() + timeout
    while True:
        domid = ok(P.VM.get_domid(S, vm))
        p = power(vm)
        if p == state and (state != "Running" or domid not in (d0, "-1")) and \
                domid == ok(P.VM.get_domid(S, vm)):
            return
        if time.time() > deadline:
            raise AssertionError("VM %s is %s (domid %s), expected %s" % (vm, p, domid, state))
        time.sleep(0.05)


def test_guest_shutdown_and_reboot_actions():
    for prefix, field, command in (("g-", "actions_after_shutdown", "poweroff"),
                                   ("r-", "actions_after_reboot", "reboot")):
        for action, expect in (("destroy", "Halted"), ("restart", "Running")):
            vm = new_vm(prefix + action, **{field: action})
            ok(P.VM.start(S, vm, False))
            d0 = ok(P.VM.get_domid(S, vm))
            guest(vm, command)
            settled(vm, expect, d0)
            if expect == "Running":
                ok(P.VM.hard_shutdown(S, vm))
            else:
                assert ok(P.VM.get_domid(S, vm)) == "-1", (field, action)


def test_guest_crash_actions():
    expect = {"destroy": "Halted", "coredump_and_destroy": "Halted", "restart": "Running",
              "coredump_and_restart": "Running", "preserve": "Crashed", "rename_restart": "Running"}
    for action, state in expect.items():
        vm = new_vm("c-" + action, actions_after_crash=action)
        ok(P.VM.start(S, vm, False))
        d0 = ok(P.VM.get_domid(S, vm))
        guest(vm, "crash")
        settled(vm, state, d0)
        dumps = ok(P.VM.get_crash_dumps(S, vm))
        if action.startswith("coredump"):
            assert len(dumps) == 1, (action, dumps)
            vdi = ok(P.crashdump.get_VDI(S, dumps[0]))
            assert ok(P.VDI.get_type(S, vdi)) == "crashdump"
            assert int(ok(P.VDI.get_virtual_size(S, vdi))) > 0
        else:
            assert dumps == [], (action, dumps)
        if action == "rename_restart":
            kept = [v for v, r in ok(P.VM.get_all_records(S)).items()
                    if r["other_config"].get("renamed_from") == vm]
            assert len(kept) == 1 and ok(P.VM.get_power_state(S, kept[0])) == "Crashed"
            ok(P.VM.hard_shutdown(S, kept[0]))
        if state != "Halted":
            ok(P.VM.hard_shutdown(S, vm))
        assert power(vm) == "Halted"


def test_restart_loop_is_stopped():
    """A guest that crashes again at once is restarted 5 times, not forever."""
    vm = new_vm("looping", actions_after_crash="restart")
    ok(P.VM.start(S, vm, False))
    for i in range(6):
        d0 = ok(P.VM.get_domid(S, vm))
        guest(vm, "crash")
        settled(vm, "Running" if i < 5 else "Halted", d0)
    assert "not restarting it again" in open(X.log).read()
    ok(P.VM.start(S, vm, False))          # an administrator's start is not refused
    assert power(vm) == "Running"
    ok(P.VM.hard_shutdown(S, vm))


def test_clean_shutdown_timeout_and_takeover():
    vm = new_vm("deaf", other_config={"shutdown_timeout": "2"})
    ok(P.VM.start(S, vm, False))
    simctl("unresponsive", ok(P.VM.get_domid(S, vm)), "on")
    t0 = time.time()
    fails(P.VM.clean_shutdown(S, vm), "VM_SHUTDOWN_TIMEOUT", vm, "2")
    waited = time.time() - t0
    assert 1.9 < waited < 30, waited       # the 2 s timeout, not an instant failure (loose: loaded CI)
    assert power(vm) == "Running"
    # a clean shutdown that waits is taken over by hard_shutdown
    task = ok(P.Async.VM.clean_shutdown(S, vm))
    time.sleep(0.3)
    fails(P.VM.pause(S, vm), "OTHER_OPERATION_IN_PROGRESS", "VM", vm)
    ok(P.VM.hard_shutdown(S, vm))
    deadline = time.time() + DEADLINE
    while ok(P.task.get_status(S, task)) == "pending" and time.time() < deadline:
        time.sleep(0.05)
    assert ok(P.task.get_status(S, task)) == "success"
    assert power(vm) == "Halted"


def test_async_start_progress():
    vm = new_vm("async")
    task = ok(P.Async.VM.start(S, vm, False))
    deadline = time.time() + DEADLINE
    while ok(P.task.get_status(S, task)) == "pending" and time.time() < deadline:
        time.sleep(0.05)
    assert ok(P.task.get_status(S, task)) == "success"
    assert ok(P.task.get_progress(S, task)) == "100"
    assert power(vm) == "Running"
    ok(P.VM.hard_shutdown(S, vm))


def test_transient_vm_is_removed_when_it_halts():
    """other_config:transient (xm create's run-once VMs, LEGACY.md 4.4): the VM
    and its devices go when it halts, whichever way; without it a VM stays."""
    for how in ("hard_shutdown", "clean_shutdown", "guest"):
        vm = new_vm("run-once-" + how, other_config={"transient": "True"})
        net = ok(P.network.get_all(S))[0]
        vif = ok(P.VIF.create(S, {"device": "eth0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                                  "qos_algorithm_type": "", "qos_algorithm_params": {}}))
        ok(P.VM.start(S, vm, False))
        if how == "guest":
            domid = int(ok(P.VM.get_domid(S, vm)))
            simctl("poweroff", domid)
        else:
            ok(getattr(P.VM, how)(S, vm))
        wait_until(lambda: P.VM.get_record(S, vm)["Status"] == "Failure", "transient VM removed (%s)" % how)
        fails(P.VM.get_record(S, vm), "HANDLE_INVALID", "VM", vm)
        fails(P.VIF.get_record(S, vif), "HANDLE_INVALID", "VIF", vif)
    kept = new_vm("managed", other_config={"transient": "False"})
    ok(P.VM.start(S, kept, False))
    ok(P.VM.hard_shutdown(S, kept))
    assert power(kept) == "Halted"
    ok(P.VM.destroy(S, kept))


def main():
    run_on_daemon(globals(), [test_matrix, test_live_values, test_not_enough_memory_or_cpus,
                              test_disabled_host_refuses_start, test_clone_copies_devices, test_save_and_restore,
                              test_guest_shutdown_and_reboot_actions, test_guest_crash_actions,
                              test_restart_loop_is_stopped, test_clean_shutdown_timeout_and_takeover,
                              test_async_start_progress, test_transient_vm_is_removed_when_it_halts], pam=False)


if __name__ == "__main__":
    main()
