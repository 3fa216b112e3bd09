#!/usr/bin/python3
"""xend on a real Xen (run in dom0: `make check-xen`; under QEMU through
scripts/check-xen-qemu.sh).  Starts xend --backend xen and drives it over
XenAPI with xmlrpc.client: a PV guest and a PVH guest through start, the
console marker, pause/unpause, clean_shutdown, guest-initiated poweroff,
hard_shutdown, suspend/resume, save/restore, an xend restart with a running
guest, the libxen example client, and destroy.  Prints the figures
(VM.start -> console marker next to xl create of the same guest, and
pause/unpause/shutdown latencies next to xl's)."""
import os
import re
import subprocess
import sys
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from xendtest import Xend, ok, fails, run  # noqa: E402

X = None
P = None
S = None
FIGURES = []
GUEST = "/guest"


def guest_cfg(name):
    """kernel, ramdisk, extra, memory of one of the ready-made guest configs."""
    text = open(os.path.join(GUEST, name + ".cfg")).read()
    cfg = {}
    for key in ("kernel", "ramdisk", "extra", "memory", "type", "vcpus", "name"):
        m = re.search(r'^\s*%s\s*=\s*"?([^"\n]*)"?' % key, text, re.M)
        if m:
            cfg[key] = m.group(1).strip()
    return cfg


# Xen under QEMU/TCG on a loaded 2-core machine is slow: no wait for
# something that must happen is shorter than this (it ends as soon as the
# condition holds).
XEN_DEADLINE = float(os.environ.get("XEND_TEST_DEADLINE", "600"))


def wait(pred, timeout, what):
    timeout = max(timeout, XEN_DEADLINE)
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))


def power(vm):
    return ok(P.VM.get_power_state(S, vm))


def make_vm(cfgname, label):
    c = guest_cfg(cfgname)
    mem = str(int(c.get("memory", "256")) * 1024 * 1024)
    rec = {"name_label": label, "memory_static_max": mem, "memory_dynamic_max": mem,
           "memory_dynamic_min": mem, "memory_static_min": mem, "VCPUs_max": c.get("vcpus", "1"),
           "VCPUs_at_startup": c.get("vcpus", "1"), "actions_after_shutdown": "destroy",
           "actions_after_reboot": "restart", "actions_after_crash": "destroy",
           "PV_kernel": c["kernel"], "PV_ramdisk": c.get("ramdisk", ""), "PV_args": c.get("extra", ""),
           "platform": {"pvh": "true"} if c.get("type") == "pvh" else {}}
    return ok(P.VM.create(S, rec))


def console_log(vm):
    return os.path.join(X.state, "console-log", vm + ".log")


def has_marker(vm):
    try:
        return "XQ-GUEST-HELLO" in open(console_log(vm), errors="replace").read()
    except OSError:
        return False


def xl(*args, check=True):
    return subprocess.run(["xl"] + list(args), capture_output=True, text=True, check=check)


class PtyReader(threading.Thread):
    """Reads a guest's console pty (the path xenconsoled publishes in
    xenstore, as xend's own console logger does) and notes when the marker
    went by.  Nothing stale can satisfy it: it sees only what it read."""

    def __init__(self, domid):
        super().__init__(daemon=True)
        path = subprocess.run(["xenstore-read", "/local/domain/%d/console/tty" % domid],
                              capture_output=True, text=True, check=True).stdout.strip()
        self.fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.buf = b""
        self.seen = None
        self.start()

    def run(self):
        while self.seen is None:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.buf += chunk
            if b"XQ-GUEST-HELLO" in self.buf:
                self.seen = time.time()

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


def xl_baseline(cfgname):
    """Seconds from `xl create` to the console marker, and xl's pause,
    unpause and shutdown latencies, for the same guest."""
    c = guest_cfg(cfgname)
    name = c.get("name", "xq-" + cfgname)
    for f in (c["kernel"], c.get("ramdisk")):    # neither side pays the cold page cache
        if f:
            with open(f, "rb") as fh:
                while fh.read(1 << 20):
                    pass
    t0 = time.time()
    xl("create", os.path.join(GUEST, cfgname + ".cfg"))
    con = PtyReader(int(xl("domid", name).stdout.strip()))
    wait(lambda: con.seen, 180, "xl guest marker")
    marker = con.seen - t0
    t = time.time(); xl("pause", name); pause = time.time() - t
    t = time.time(); xl("unpause", name); unpause = time.time() - t
    t = time.time(); xl("shutdown", "-w", name); shut = time.time() - t
    con.close()
    xl("destroy", name, check=False)
    return marker, pause, unpause, shut


def lifecycle(cfgname, label):
    xl_marker, xl_pause, xl_unpause, xl_shut = xl_baseline(cfgname)
    vm = make_vm(cfgname, label)
    t0 = time.time()
    ok(P.VM.start(S, vm, False))
    start_ret = time.time() - t0
    assert power(vm) == "Running"
    domid = int(ok(P.VM.get_domid(S, vm)))
    assert domid > 0
    assert label in xl("list").stdout
    wait(lambda: has_marker(vm), 180, "the console marker of " + label)
    marker = time.time() - t0
    fails(P.VM.start(S, vm, False), "VM_BAD_POWER_STATE", vm, "Halted", "Running")
    t = time.time(); ok(P.VM.pause(S, vm)); pause = time.time() - t
    assert power(vm) == "Paused"
    state = xl("list", label).stdout.splitlines()[-1].split()[4]
    assert "p" in state, "xl list shows %s for a paused guest" % state
    t = time.time(); ok(P.VM.unpause(S, vm)); unpause = time.time() - t
    assert power(vm) == "Running"
    t = time.time(); ok(P.VM.clean_shutdown(S, vm)); shut = time.time() - t
    assert power(vm) == "Halted"
    assert ok(P.VM.get_domid(S, vm)) == "-1"
    assert xl("list", label, check=False).returncode != 0, "domain still exists after clean_shutdown"
    FIGURES.append("%s: VM.start -> console marker %.2fs (VM.start returned after %.2fs); "
                   "xl create -> marker %.2fs; ratio %.2f" % (label, marker, start_ret, xl_marker,
                                                              marker / xl_marker))
    FIGURES.append("%s: pause %.3fs (xl %.3fs), unpause %.3fs (xl %.3fs), clean_shutdown %.2fs "
                   "(xl shutdown -w %.2fs)" % (label, pause, xl_pause, unpause, xl_unpause, shut, xl_shut))
    # hard_shutdown of a running guest
    ok(P.VM.start(S, vm, False))
    wait(lambda: power(vm) == "Running", 60, "restart")
    ok(P.VM.hard_shutdown(S, vm))
    assert power(vm) == "Halted"
    ok(P.VM.destroy(S, vm))


def test_host_and_dom0_from_the_hypervisor():
    host = ok(P.host.get_all(S))[0]
    h = ok(P.host.get_record(S, host))
    assert h["software_version"].get("Xen", "").startswith("4."), h["software_version"]
    assert len(h["host_CPUs"]) >= 1
    m = ok(P.host_metrics.get_record(S, h["metrics"]))
    assert int(m["memory_total"]) > int(m["memory_free"]) > 0
    dom0 = ok(P.VM.get_by_uuid(S, "00000000-0000-0000-0000-000000000000"))
    assert ok(P.VM.get_power_state(S, dom0)) == "Running"


def test_pv_lifecycle():
    lifecycle("pv-hold", "xend-pv")


def test_pvh_lifecycle():
    lifecycle("pvh-hold", "xend-pvh")


def test_guest_initiated_poweroff():
    vm = make_vm("pv", "xend-pv-off")      # this guest powers off by itself
    ok(P.VM.start(S, vm, False))
    wait(lambda: power(vm) == "Halted", 180, "the guest's own poweroff to reach xend")
    assert has_marker(vm)
    ok(P.VM.destroy(S, vm))


def test_suspend_resume():
    vm = make_vm("pv-hold", "xend-pv-susp")
    ok(P.VM.start(S, vm, False))
    wait(lambda: has_marker(vm), 180, "marker")
    ok(P.VM.suspend(S, vm))
    assert power(vm) == "Suspended"
    assert xl("list", "xend-pv-susp", check=False).returncode != 0
    ok(P.VM.resume(S, vm, False))
    assert power(vm) == "Running"
    assert "xend-pv-susp" in xl("list").stdout
    # xend's save/restore: the image in a file of the caller's choosing
    path = os.path.join(X.state, "images", "saved.img")     # below image-dir (default <state>/images)
    ok(P.VM.save(S, vm, path))
    assert power(vm) == "Halted" and os.path.getsize(path) > 0
    assert xl("list", "xend-pv-susp", check=False).returncode != 0
    assert ok(P.VM.restore(S, path, True)) == vm
    assert power(vm) == "Paused"
    assert "p" in xl("list", "xend-pv-susp").stdout.splitlines()[-1].split()[4]
    ok(P.VM.unpause(S, vm))
    assert power(vm) == "Running"
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))


def test_libxen_client():
    """The historical-style libxen example program (examples/xen_example)
    against xend on the hypervisor: it prints the VM's record, starts it and
    shuts it down."""
    vm = make_vm("pv-hold", "xend-libxen")
    uuid = ok(P.VM.get_uuid(S, vm))
    prog = os.path.join(os.environ.get("XEND_BUILDDIR", os.getcwd()), "examples", "xen_example")
    r = subprocess.run([prog, "unix://" + X.unix, "root", "unused", uuid], capture_output=True, text=True,
                       timeout=300)
    print(r.stdout + r.stderr)
    assert r.returncode == 0, r.returncode
    assert "VM %s" % uuid in r.stdout and "name_label: xend-libxen" in r.stdout
    assert "power_state now: Running" in r.stdout
    assert power(vm) == "Halted"
    assert xl("list", "xend-libxen", check=False).returncode != 0
    ok(P.VM.destroy(S, vm))


def test_xend_restart_keeps_running_guest():
    global P, S
    vm = make_vm("pv-hold", "xend-pv-restart")
    ok(P.VM.start(S, vm, False))
    domid = ok(P.VM.get_domid(S, vm))
    X.restart()
    P = X.proxy()
    S = X.login(P)
    assert power(vm) == "Running", power(vm)
    assert ok(P.VM.get_domid(S, vm)) == domid
    assert "xend-pv-restart" in xl("list").stdout
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))


def main():
    global X, P, S
    if not os.path.exists("/proc/xen/capabilities") or "control_d" not in open("/proc/xen/capabilities").read():
        print("not a Xen control domain: run this through scripts/check-xen-qemu.sh")
        print("0 passed, 1 failed")
        sys.exit(1)
    # the guests' kernels are in /guest: xend gives libxl only files below kernel-dir
    X = Xend(backend="xen", pam=False, conf=["kernel-dir = %s" % GUEST])
    try:
        X.start(timeout=XEN_DEADLINE)
        P = X.proxy()
        S = X.login(P)
        try:
            run([test_host_and_dom0_from_the_hypervisor, test_pv_lifecycle, test_guest_initiated_poweroff,
                 test_suspend_resume, test_xend_restart_keeps_running_guest, test_libxen_client,
                 test_pvh_lifecycle])
        finally:
            print("FIGURES (dom0 wall clock, QEMU TCG):")
            for f in FIGURES:
                print("  " + f)
    finally:
        X.cleanup()


if __name__ == "__main__":
    main()
