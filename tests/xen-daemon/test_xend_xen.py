#!/usr/bin/python3
"""xend on a real Xen (run in dom0: `make check-xen`; under QEMU through
scripts/check-xen-qemu.sh).  Starts xend --backend xen and drives it over
XenAPI with xmlrpc.client: a PV guest and a PVH guest through start, the
console marker, pause/unpause, clean_shutdown, guest-initiated poweroff,
hard_shutdown, suspend/resume, save/restore, an xend restart with a running
guest, the libxen example client, xm (create from a Python-style file, the
console marker through xm console, shutdown -w, new/start/delete), and
destroy.  Prints the figures
(VM.start -> console marker next to xl create of the same guest, and
pause/unpause/shutdown latencies next to xl's)."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from xendtest import BUILDDIR, Xend, ok, fails, run  # noqa: E402
from xenguest import GUEST, XEN_DEADLINE, PtyReader, Terminal, guest_cfg, wait, warm, xl, xm_cfg  # noqa: E402

X = None
P = None
S = None
FIGURES = []
XM = os.path.join(BUILDDIR, "xm", "xm")


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


def xl_baseline(cfgname):
    """Seconds from `xl create` to the console marker, and xl's pause,
    unpause and shutdown latencies, for the same guest."""
    name = guest_cfg(cfgname).get("name", "xq-" + cfgname)
    warm(cfgname)
    t0 = time.time()
    xl("create", os.path.join(GUEST, cfgname + ".cfg"))
    con = FollowedConsole(name)
    wait(con.marker, 180, "xl guest marker")
    marker = con.reader.seen - t0
    t = time.time(); xl("pause", name); pause = time.time() - t
    t = time.time(); xl("unpause", name); unpause = time.time() - t
    t = time.time(); xl("shutdown", "-w", name); shut = time.time() - t
    con.reader.close()
    xl("destroy", name, check=False)
    return marker, pause, unpause, shut


class FollowedConsole:
    """The console of the xl-made domain name, read from its pty.  A guest
    that reboots by itself before its marker (a PVH guest under QEMU/TCG was
    once seen to) is restarted by xl as a new domain: its reader ends, and
    the new domain's console is read instead (said on stderr)."""

    def __init__(self, name):
        self.name = name
        self.domid = int(xl("domid", name).stdout.strip())
        self.reader = PtyReader(self.domid)

    def marker(self):
        if self.reader.seen:
            return True
        if not self.reader.is_alive():     # its pty went away with the domain
            r = xl("domid", self.name, check=False)
            if r.returncode == 0 and int(r.stdout) != self.domid:
                try:
                    reader = PtyReader(int(r.stdout))
                except (subprocess.CalledProcessError, OSError):
                    return False                # its console is not up yet
                print("# %s rebooted by itself before its marker (domid %d -> %s); its console said:\n%s"
                      % (self.name, self.domid, r.stdout.strip(), self.reader.text()), file=sys.stderr)
                self.reader.close()
                self.domid, self.reader = int(r.stdout), reader
        return False


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


def xm(*args, rc=0):
    """xm (the build's, as xend is) on xend's local socket."""
    r = subprocess.run([XM] + [str(a) for a in args], env=xm_env(), capture_output=True, text=True,
                       timeout=XEN_DEADLINE)
    assert r.returncode == rc, "xm %s: exit %d (want %d)\nstdout: %s\nstderr: %s" % (
        " ".join(map(str, args)), r.returncode, rc, r.stdout, r.stderr)
    return r.stdout + r.stderr


def xm_env():
    return dict(os.environ, XM_SERVER="unix://" + X.unix, XM_CONFIG_FILE="/nonexistent/xm-config.xml")


def xm_console_marker(name):
    """The guest's console marker read through `xm console` on a terminal,
    which then detaches on Ctrl-]."""
    con = Terminal([XM, "console", name], env=xm_env())
    try:
        wait(lambda: con.seen or con.exited(), 180, "the marker on xm console " + name)
        assert con.seen, "xm console %s ended (exit %s) before the marker:\n%s" % (name, con.status, con.text())
        con.type(b"\x1d")
        assert con.finish("xm console to detach on Ctrl-]") == 0, con.text()
    finally:
        con.kill()
    assert "Connected to /dev/pts/" in con.text(), con.text()


def test_xm_create_console_shutdown():
    """xm create of a PV guest from a Python-style config file, its console
    marker through xm console, xm shutdown -w; xm create's VM is run once
    (transient), so it is gone afterwards and xm delete says so."""
    path = os.path.join(X.tmp, "xm-pv.cfg")
    with open(path, "w") as f:
        f.write(xm_cfg("pv-hold", "xm-pv"))
    out = xm("create", path)
    assert out.startswith("Started domain xm-pv (id="), out
    assert "xm-pv" in xl("list").stdout
    row = xm("list", "xm-pv").splitlines()[-1].split()
    assert row[0] == "xm-pv" and row[4] in ("r-----", "-b----", "------"), row
    xm_console_marker("xm-pv")
    assert "All domains terminated" in xm("shutdown", "-w", "xm-pv")
    assert xl("list", "xm-pv", check=False).returncode != 0, "domain still exists after xm shutdown -w"
    wait(lambda: not ok(P.VM.get_by_name_label(S, "xm-pv")), 60, "the run-once VM to be removed")
    assert "no VM is named 'xm-pv'" in xm("delete", "xm-pv", rc=4)


def test_xm_new_start_shutdown_delete():
    """The same file made a lasting VM: xm new, start, the console,
    shutdown -w (still defined, halted), delete."""
    path = os.path.join(X.tmp, "xm-pv-new.cfg")
    with open(path, "w") as f:
        f.write(xm_cfg("pv-hold", "xm-pv-new"))
    xm("new", path)
    vms = ok(P.VM.get_by_name_label(S, "xm-pv-new"))
    assert len(vms) == 1 and power(vms[0]) == "Halted"
    xm("start", "xm-pv-new")
    assert "xm-pv-new" in xl("list").stdout
    xm_console_marker("xm-pv-new")
    assert "All domains terminated" in xm("shutdown", "-w", "xm-pv-new")
    assert xl("list", "xm-pv-new", check=False).returncode != 0
    assert power(vms[0]) == "Halted"
    xm("delete", "xm-pv-new")
    assert not ok(P.VM.get_by_name_label(S, "xm-pv-new"))
    assert "no VM is named 'xm-pv-new'" in xm("list", "xm-pv-new", rc=4)


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
                 test_xm_create_console_shutdown, test_xm_new_start_shutdown_delete, test_pvh_lifecycle])
        finally:
            print("FIGURES (dom0 wall clock, QEMU TCG):")
            for f in FIGURES:
                print("  " + f)
    finally:
        X.cleanup()


if __name__ == "__main__":
    main()
