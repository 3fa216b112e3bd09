#!/usr/bin/python3
"""xm against the real daemon on the sim backend: every command through the
real binary (and so the public libxen API), its output format, exit codes,
errors; the server and credential choices (local socket, http with
XM_USERNAME/XM_PASSWORD, xm-config.xml, https with --ca-file, the password
prompt on a terminal); progress display on a terminal and off it."""
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import BUILDDIR, DEADLINE, SRCDIR, Xend, ok, run, wait_until  # noqa: E402

X = None
P = None
S = None
CERT = None
MIB = 1 << 20
XM = os.path.join(BUILDDIR, "xm", "xm")


def env(**kw):
    e = dict(os.environ, XM_SERVER="unix://" + X.unix, XM_CONFIG_FILE="/nonexistent/xm-config.xml",
             XEND_CREATE_SCHEMA=os.path.join(SRCDIR, "config", "create.rng"))
    for k in ("XM_USERNAME", "XM_PASSWORD"):
        e.pop(k, None)
    e.update(kw)
    return e


def xm(*args, rc=0, environ=None, stdin=subprocess.DEVNULL, cwd=None):
    # XM_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full" runs xm under valgrind
    # (the program itself then, not libtool's wrapper script)
    wrapper, prog, e = shlex.split(os.environ.get("XM_WRAPPER", "")), XM, dict(environ or env())
    if wrapper and os.access(os.path.join(os.path.dirname(XM), ".libs", "xm"), os.X_OK):
        prog = os.path.join(os.path.dirname(XM), ".libs", "xm")
        e["LD_LIBRARY_PATH"] = os.path.join(BUILDDIR, "libxen", ".libs")
    r = subprocess.run(wrapper + [prog] + [str(a) for a in args], env=e, capture_output=True, text=True,
                       timeout=DEADLINE, stdin=stdin, cwd=cwd)
    assert r.returncode == rc, "xm %s: exit %d (want %d)\nstdout: %s\nstderr: %s" % (
        " ".join(map(str, args)), r.returncode, rc, r.stdout, r.stderr)
    return r.stdout + r.stderr


def xm_pty(args, environ=None, answers=(), timeout=None, during=None):
    """Run xm on a pseudo-terminal; answer prompts (pattern, text) in turn
    (text None: call during() instead).  Returns (exit status, everything
    it wrote to the terminal)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(XM, [XM] + [str(a) for a in args], environ or env())
    out = b""
    answers = list(answers)
    deadline = time.time() + (timeout or DEADLINE)
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        if answers and re.search(answers[0][0], out.decode(errors="replace")):
            text = answers.pop(0)[1]
            if text is None:
                during()
            else:
                os.write(fd, text.encode())
    else:
        os.kill(pid, 9)
        raise AssertionError("xm %s did not finish within %.0f s; its terminal showed:\n%r"
                             % (" ".join(map(str, args)), timeout or DEADLINE, out))
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def new_vm(name, mem=256, **extra):
    rec = {"name_label": name, "memory_static_max": str(mem * MIB), "memory_dynamic_max": str(mem * MIB),
           "memory_dynamic_min": str(mem * MIB), "memory_static_min": str(16 * MIB), "VCPUs_max": "2",
           "VCPUs_at_startup": "1", "PV_kernel": "/boot/vmlinuz", "PV_args": "root=/dev/xvda1 ro",
           "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
           "actions_after_crash": "destroy"}
    rec.update(extra)
    vm = ok(P.VM.create(S, rec))
    ok(P.console.create(S, {"VM": vm, "protocol": "vt100", "other_config": {}}))
    return vm


def power(vm):
    return ok(P.VM.get_power_state(S, vm))


def gone(vm):
    return P.VM.get_record(S, vm)["Status"] == "Failure"


# ---- help, command lookup ----

def test_help_and_prefixes():
    out = xm("help")
    names = xm("help", "--list-commands").split()
    for cmd in ["list", "info", "start", "shutdown", "reboot", "destroy", "delete", "pause", "unpause", "suspend",
                "resume", "save", "restore", "mem-set", "mem-max", "vcpu-set", "vcpu-list", "vcpu-pin",
                "sched-credit", "console", "uptime", "dmesg", "log", "block-list", "block-attach",
                "block-detach", "network-list", "network-attach", "network-detach", "dump-core", "rename",
                "migrate", "top", "help", "new", "create", "config-convert"]:
        assert cmd in names, cmd
        assert re.search(r"^  %s\s" % re.escape(cmd), out, re.M), cmd
        h = xm(cmd, "--help")
        assert h.startswith("Usage: xm %s" % cmd), h
        assert "-h, --help" in h
        assert xm("help", cmd) == h
    assert "--state=" in xm("help", "--list-options", "list").split()
    # unique prefixes; ambiguous and unknown ones are usage errors
    assert xm("li", "--help").startswith("Usage: xm list")
    assert xm("unp", "--help").startswith("Usage: xm unpause")
    assert "ambiguous command 's'" in xm("s", rc=2)
    assert "unknown command 'frobnicate'" in xm("frobnicate", rc=2)
    assert "Usage: xm" in xm(rc=2)
    # deprecated names still work, with a warning
    assert "deprecated" in xm("vif-list", "--help")
    # bad options and arguments
    assert "Usage: xm pause DOM" in xm("pause", rc=2)
    assert "not a memory size" in xm("mem-set", "x", "12q", rc=2)


def complete(*words):
    """What bash completion offers for the command line words (the last one
    being completed)."""
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _xm; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    e = env(PATH=os.path.dirname(XM) + ":" + os.environ["PATH"])
    r = subprocess.run(["bash", "-c", script, "bash", os.path.join(SRCDIR, "xm", "completion", "xm")] + list(words),
                       env=e, capture_output=True, text=True, timeout=DEADLINE)
    assert r.returncode == 0, r.stderr
    return [l for l in r.stdout.split("\n") if l]


def test_bash_completion():
    vm = new_vm("completion vm")        # a name with a space
    assert complete("xm", "li") == ["list"]
    assert set(complete("xm", "")) >= {"list", "create", "console", "vcpu-pin"}
    assert complete("xm", "list", "--st") == ["--state="]
    assert "--paused" in complete("xm", "start", "--")
    assert "completion vm" in complete("xm", "start", "comp")
    assert complete("xm", "start", "completion vm", "") == []
    assert "completion vm" in complete("xm", "-s", "unix://" + X.unix, "pause", "")
    cfgdir = tempfile.mkdtemp(dir=X.tmp)
    open(os.path.join(cfgdir, "guest.cfg"), "w").close()
    assert complete("xm", "create", cfgdir + "/g") == [cfgdir + "/guest.cfg"]
    assert "list" in complete("xm", "help", "l")
    ok(P.VM.destroy(S, vm))


# ---- list ----

HEADER = "Name                                        ID   Mem VCPUs      State   Time(s)"
ROW = re.compile(r"^(?P<name>.{40}) (?P<id>[ \d]{5}) (?P<mem>[ \d]{5}) (?P<vcpus>[ \d]{5}) "
                 r"(?P<state>[ rbpscd-]{10}) (?P<time>[ \d.]{8})$")


def rows(out):
    lines = out.splitlines()
    assert lines[0] == HEADER, lines[0]
    got = {}
    for line in lines[1:]:
        m = ROW.match(line)
        assert m, "row not in xend 4.4's format: %r" % line
        got[m.group("name").rstrip()] = {k: v.strip() for k, v in m.groupdict().items()}
    return got


def test_list_columns_and_filters():
    a = new_vm("list-run", mem=200)
    b = new_vm("list-halt", mem=300)
    ok(P.VM.start(S, a, False))
    r = rows(xm("list"))
    assert r["Domain-0"]["id"] == "0" and r["Domain-0"]["state"] == "r-----"
    assert r["list-run"]["id"] == ok(P.VM.get_domid(S, a)) and r["list-run"]["mem"] == "200"
    assert r["list-run"]["vcpus"] == "1" and r["list-run"]["state"] == "r-----"
    assert r["list-halt"]["id"] == "" and r["list-halt"]["state"] == "" and r["list-halt"]["mem"] == "300"
    # running VMs first, by domid
    names = list(r)
    assert names.index("Domain-0") < names.index("list-run") < names.index("list-halt")
    # names, uuid, domid select
    assert list(rows(xm("list", "list-halt"))) == ["list-halt"]
    assert list(rows(xm("list", ok(P.VM.get_uuid(S, b))))) == ["list-halt"]
    assert list(rows(xm("list", ok(P.VM.get_domid(S, a))))) == ["list-run"]
    assert "no VM is named 'nope'" in xm("list", "nope", rc=4)
    ok(P.VM.pause(S, a))
    paused = rows(xm("list", "--state=paused"))
    assert list(paused) == ["list-run"] and paused["list-run"]["state"] == "--p---"
    assert "list-halt" in rows(xm("list", "--state", "halted"))
    assert "list-run" not in xm("list", "--names", "--state=halted").split("\n")
    assert "list-halt" in xm("list", "--names").split("\n")
    lab = xm("list", "--label").splitlines()
    assert lab[0].endswith("Time(s) Label") and any(l.endswith("INACTIVE") for l in lab[1:])
    # a long name widens the column for every row
    c = new_vm("n" * 50)
    lines = xm("list").splitlines()
    assert len({len(l.split(" ID")[0]) for l in lines[:1]}) == 1 and lines[0].startswith("Name" + " " * 47)
    ok(P.VM.hard_shutdown(S, a))
    for v in (a, b, c):
        ok(P.VM.destroy(S, v))


def sxp_parse(text):
    """Minimal SXP reader for the checks: nested lists of atoms/strings."""
    toks = re.findall(r"\(|\)|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s()]+", text)
    stack = [[]]
    for t in toks:
        if t == "(":
            stack.append([])
        elif t == ")":
            top = stack.pop()
            stack[-1].append(top)
        else:
            stack[-1].append(t[1:-1] if t[0] in "'\"" else t)
    assert len(stack) == 1, "unbalanced SXP"
    return stack[0]


def test_list_long_is_xend_sxp():
    vbd_vm = new_vm("sxp-vm", PV_args="root=/dev/xvda1 ro console=hvc0")
    sr = ok(P.SR.get_by_name_label(S, "QCoW"))[0]
    vdi = ok(P.VDI.create(S, {"name_label": "sxp-disk", "name_description": "", "SR": sr,
                              "virtual_size": str(8 * MIB), "type": "system", "sharable": False,
                              "read_only": False, "other_config": {}}))
    ok(P.VBD.create(S, {"VM": vbd_vm, "VDI": vdi, "device": "xvda", "bootable": True, "mode": "RW",
                        "type": "Disk", "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    ok(P.VM.start(S, vbd_vm, False))
    out = xm("list", "-l", "sxp-vm")
    assert out.startswith("(domain\n    (domid "), out
    assert out.endswith("\n)\n"), out
    for line in out.splitlines():
        assert len(line) <= 80 or line.strip().count(" ") == 0, "line over 80 columns: %r" % line
    d = sxp_parse(out)[0]
    assert d[0] == "domain"
    kv = {x[0]: x[1:] for x in d[1:] if isinstance(x, list)}
    assert kv["name"] == ["sxp-vm"] and kv["memory"] == ["256"] and kv["status"] == ["2"]
    assert kv["state"] == ["r-----"] and kv["domid"] == [ok(P.VM.get_domid(S, vbd_vm))]
    assert kv["image"][0][0] == "linux" and ["args", "root=/dev/xvda1 ro console=hvc0"] in kv["image"][0]
    # strings that are not atoms are quoted as Python's repr did
    assert "(args 'root=/dev/xvda1 ro console=hvc0')" in out
    devs = [x[1] for x in d[1:] if isinstance(x, list) and x[0] == "device"]
    assert any(dv[0] == "vbd" and ["dev", "xvda:disk"] in dv and ["mode", "w"] in dv for dv in devs), devs
    ok(P.VM.hard_shutdown(S, vbd_vm))
    assert "(domid" not in xm("list", "-l", "sxp-vm") and "(status 0)" in xm("list", "-l", "sxp-vm")
    ok(P.VM.destroy(S, vbd_vm))


# ---- the lifecycle ----

def test_lifecycle_commands():
    vm = new_vm("life")
    xm("start", "life", "-p")
    assert power(vm) == "Paused"
    xm("unpause", "life")
    assert power(vm) == "Running"
    err = xm("start", "life", rc=1)
    assert re.search(r"^Error: VM_BAD_POWER_STATE: .*\(vm: %s, expected: Halted, actual: Running\)\.$" % vm,
                     err, re.M), err
    xm("pause", "life")
    assert power(vm) == "Paused"
    xm("unpause", ok(P.VM.get_uuid(S, vm)))
    domid = ok(P.VM.get_domid(S, vm))
    assert xm("domid", "life").strip() == domid
    assert xm("domname", domid).strip() == "life"
    xm("sysrq", "life", "s")
    # reboot -w: a new domain
    out = xm("reboot", "-w", "life")
    assert "Domain life rebooted" in out and "All domains rebooted" in out, out
    assert power(vm) == "Running" and ok(P.VM.get_domid(S, vm)) != domid
    xm("rename", "life", "life2")
    assert ok(P.VM.get_name_label(S, vm)) == "life2"
    out = xm("shutdown", "-w", "life2")
    assert "Domain life2 terminated" in out and "All domains terminated" in out
    assert power(vm) == "Halted"
    assert xm("domid", "life2").strip() == "None"
    xm("start", "life2")
    xm("destroy", "life2")
    assert power(vm) == "Halted"
    xm("delete", "life2")
    assert gone(vm)
    assert "no VM is named 'life2'" in xm("delete", "life2", rc=4)


def test_shutdown_all_and_without_wait():
    vms = [new_vm("all-%d" % i) for i in range(3)]
    for v in vms:
        ok(P.VM.start(S, v, False))
    assert "name the VMs or give -a" in xm("shutdown", "-a", "all-0", rc=2)
    xm("shutdown", "all-0")     # returns at once; the guest acts a moment later
    wait_until(lambda: power(vms[0]) == "Halted", "all-0 halts after xm shutdown")
    out = xm("shutdown", "-a", "-w")
    assert "All domains terminated" in out
    assert all(power(v) == "Halted" for v in vms)
    assert rows(xm("list"))["Domain-0"]["state"] == "r-----"
    for v in vms:
        ok(P.VM.destroy(S, v))


def test_memory_vcpus_scheduler():
    vm = new_vm("tune", mem=256, VCPUs_max="4")
    ok(P.VM.start(S, vm, False))
    xm("mem-set", "tune", "128")
    assert ok(P.VM.get_memory_dynamic_max(S, vm)) == str(128 * MIB)
    assert ok(P.VM.get_memory_dynamic_min(S, vm)) == str(128 * MIB)
    xm("mem-set", "tune", "196608k")
    assert ok(P.VM.get_memory_dynamic_max(S, vm)) == str(192 * MIB)
    assert "MEMORY_CONSTRAINT_VIOLATION" in xm("mem-set", "tune", "1g", rc=1)
    xm("vcpu-set", "tune", "3")
    wait_until(lambda: ok(P.VM_metrics.get_VCPUs_number(S, ok(P.VM.get_metrics(S, vm)))) == "3", "3 VCPUs")
    xm("vcpu-pin", "tune", "0", "1-2")
    xm("vcpu-pin", "tune", "1", "all")
    params = ok(P.VM.get_VCPUs_params(S, vm))
    assert params["cpumap0"] == "1,2" and params["cpumap1"] == "0,1,2,3", params
    assert "not a CPU list" in xm("vcpu-pin", "tune", "0", "x-y", rc=2)
    out = xm("vcpu-list", "tune").splitlines()
    assert out[0].split() == ["Name", "ID", "VCPU", "CPU", "State", "Time(s)", "CPU", "Affinity"]
    assert len(out) == 1 + 4
    assert out[1].endswith(" 1-2") and out[2].endswith(" any cpu"), out
    assert " --p " in out[4], out       # VCPU 3 is offline
    xm("sched-credit", "-d", "tune", "-w", "512", "-c", "50")
    params = ok(P.VM.get_VCPUs_params(S, vm))
    assert params["weight"] == "512" and params["cap"] == "50"
    table = xm("sched-credit").splitlines()
    assert table[0] == "%-33s %4s %6s %4s" % ("Name", "ID", "Weight", "Cap")
    assert any(re.match(r"^tune\s+\d+\s+512\s+50$", l) for l in table), table
    assert "the weight must be" in xm("sched-credit", "-d", "tune", "-w", "0", rc=2)
    # the maximum is fixed while a domain runs
    assert "VM_BAD_POWER_STATE" in xm("mem-max", "tune", "512", rc=1)
    ok(P.VM.hard_shutdown(S, vm))
    xm("mem-max", "tune", "512")
    assert ok(P.VM.get_memory_static_max(S, vm)) == str(512 * MIB)
    ok(P.VM.destroy(S, vm))


def test_save_restore_suspend_resume_progress():
    vm = new_vm("saver")
    ok(P.VM.start(S, vm, False))
    img = os.path.join(X.state, "images", "saver.img")     # below xend's image-dir
    out = xm("save", "saver", img)
    # not a terminal: plain lines, ending at 100%
    assert out.splitlines()[-1] == "save: 100%", out
    assert power(vm) == "Halted" and os.path.getsize(img) > 0
    out = xm("restore", img, "-p")
    assert out.splitlines()[-1] == "restore: 100%", out
    assert power(vm) == "Paused"
    ok(P.VM.unpause(S, vm))
    # on a terminal: a bar redrawn in place
    rc, out = xm_pty(["suspend", "saver"])
    assert rc == 0 and "\rsuspend    [" in out and "] 100%" in out, repr(out)
    assert power(vm) == "Suspended"
    rc, out = xm_pty(["resume", "saver"])
    assert rc == 0 and "] 100%" in out, repr(out)
    assert power(vm) == "Running"
    err = xm("restore", "/nonexistent/image", rc=1)
    assert "Error: VALUE_NOT_SUPPORTED" in err, err
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))


def test_migrate_and_dump_core_report_errors():
    vm = new_vm("mover")
    ok(P.VM.start(S, vm, False))
    err = xm("migrate", "mover", "elsewhere", "-l", "-p", "8002", rc=1)
    assert re.search(r"^Error: [A-Z_]+: ", err, re.M), err
    assert "no VM is named 'ghost'" in xm("migrate", "ghost", "elsewhere", rc=4)
    assert "NOT_IMPLEMENTED" in xm("dump-core", "mover", rc=1)
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))


# ---- configuration files: new, create, config-convert ----

WEB_CFG = """# A small PV guest, as a new user writes it
name = "web"
kernel = "/boot/vmlinuz-6.1"
ramdisk = "/boot/initrd.img-6.1"
memory = 256
vcpus = 2
disk = [ 'file:/srv/xen/web.img,xvda,w' ]
vif = [ 'mac=00:16:3e:00:00:51, bridge=xenbr0' ]
root = "/dev/xvda ro"
extra = "console=hvc0"
on_poweroff = "destroy"
"""


def vm_named(name):
    vms = ok(P.VM.get_by_name_label(S, name))
    assert len(vms) == 1, (name, vms)
    return vms[0]


def write(name, text):
    path = os.path.join(X.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_walkthrough_new_start_watch_shutdown_delete():
    """What a new user does with the README and man xm: a Python-style file
    becomes a VM, which runs, is watched, shut down and deleted."""
    write("web.cfg", WEB_CFG)
    assert xm("new", "web.cfg", cwd=X.tmp) == ""
    vm = vm_named("web")
    rec = ok(P.VM.get_record(S, vm))
    assert rec["memory_static_max"] == str(256 * MIB) and rec["VCPUs_max"] == "2"
    assert rec["PV_kernel"] == "/boot/vmlinuz-6.1" and rec["PV_args"] == "root=/dev/xvda ro console=hvc0"
    assert "transient" not in rec["other_config"]
    assert [ok(P.VBD.get_device(S, b)) for b in rec["VBDs"]] == ["xvda"]
    assert [ok(P.VIF.get_MAC(S, v)) for v in rec["VIFs"]] == ["00:16:3e:00:00:51"]
    r = rows(xm("list", "web"))
    assert r["web"]["id"] == "" and r["web"]["mem"] == "256"
    xm("start", "web")
    r = rows(xm("list", "web"))
    assert r["web"]["state"] == "r-----" and r["web"]["vcpus"] == "2"
    assert "web" in xm("top", "-b", "-i", "1")
    rc, out = xm_pty(["console", "web"], answers=[(r"XQ-GUEST-HELLO", "\x1d")])
    assert rc == 0 and "console=hvc0" in out, out
    assert "All domains terminated" in xm("shutdown", "-w", "web")
    assert rows(xm("list", "web"))["web"]["state"] == ""     # halted, still defined
    xm("delete", "web")
    assert "no VM is named 'web'" in xm("list", "web", rc=4)


def test_create_is_run_once_with_overrides():
    path = write("web.cfg", WEB_CFG)
    out = xm("create", path, "name=once", "memory=128", "vcpus=1")
    assert re.match(r"^Started domain once \(id=\d+\)$", out.strip()), out
    vm = vm_named("once")
    assert ok(P.VM.get_other_config(S, vm)).get("transient") == "True"
    assert ok(P.VM.get_memory_static_max(S, vm)) == str(128 * MIB)
    assert power(vm) == "Running"
    xm("shutdown", "-w", "once")
    wait_until(lambda: gone(vm), "the run-once VM is removed once it halts")
    # -p: created paused; destroy removes it too
    xm("create", "-p", path, "name=paused-once")
    vm = vm_named("paused-once")
    assert power(vm) == "Paused"
    xm("destroy", "paused-once")
    wait_until(lambda: gone(vm), "the destroyed run-once VM is removed")
    # -c: created and attached to the console
    rc, out = xm_pty(["create", "-c", path, "name=talk-once"], answers=[(r"XQ-GUEST-HELLO", "\x1d")])
    assert rc == 0 and "Started domain talk-once" in out, out
    xm("destroy", "talk-once")
    # the file is searched for along --path
    xm("create", "--path", "/nonexistent:" + X.tmp, "web.cfg", "name=pathed", cwd="/")
    xm("destroy", "pathed")


# ---- the config corpus (tests/config): what xm makes of its files ----

def read_calls(path):
    """tests/config's NAME.calls: [(symbol or None, method, {member: value})];
    a value is JSON, or "$sym" for another step's result."""
    import json
    steps = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            if line.startswith("    "):
                key, _, value = line.strip().partition(": ")
                steps[-1][2][key] = value if value.startswith("$") else json.loads(value)
            else:
                sym, _, method = line.strip().rpartition(" = ")
                steps.append((sym or None, method, {}))
    return steps


def test_corpus_networks_are_created():
    """Every corpus file whose plan defines networks (network.create):
    xm new makes each with the plan's members, and the VIFs the plan puts
    on one are on it."""
    corpus = os.path.join(SRCDIR, "tests", "config")
    files = sorted(f for f in os.listdir(corpus) if os.path.splitext(f)[1] in (".xml", ".sxp", ".cfg") and
                   any(m == "network.create" for _, m, _ in
                       read_calls(os.path.join(corpus, os.path.splitext(f)[0] + ".calls"))))
    assert files, "no corpus file defines a network"
    for f in files:
        steps = read_calls(os.path.join(corpus, os.path.splitext(f)[0] + ".calls"))
        before = set(ok(P.network.get_all(S)))
        xm("new", "-F" if f.endswith(".sxp") else "-f", os.path.join(corpus, f))
        made = {}
        for sym, method, m in steps:
            if method != "network.create":
                continue
            nets = [n for n in set(ok(P.network.get_all(S))) - before
                    if ok(P.network.get_name_label(S, n)) == m["name_label"]]
            assert len(nets) == 1, (f, m["name_label"], nets)
            rec = ok(P.network.get_record(S, nets[0]))
            for k, v in m.items():
                assert rec[k] == v, (f, k, rec[k], v)
            made[sym] = nets[0]
        vm_name = next(m["name_label"] for _, method, m in steps if method == "VM.create")
        vm = vm_named(vm_name)
        on = {ok(P.VIF.get_device(S, v)): ok(P.VIF.get_network(S, v)) for v in ok(P.VM.get_VIFs(S, vm))}
        for _, method, m in steps:
            if method == "VIF.create" and m["network"].lstrip("$") in made:
                assert on.get(m["device"]) == made[m["network"].lstrip("$")], (f, m["device"], on)
        xm("delete", vm_name)
        for net in made.values():
            ok(P.network.destroy(S, net))


def test_create_errors_and_dry_runs():
    bad = write("bad.cfg", 'name = "bad"\nkernel = "/boot/vmlinuz"\nos.system("reboot")\n')
    err = xm("create", bad, rc=1)
    assert re.search(r"bad\.cfg:3: ", err), err
    assert "Unable" in xm("create", "/nonexistent/x.cfg", rc=1) or "cannot open" in xm("create", "/nonexistent/x.cfg", rc=1)
    assert "no configuration file given" in xm("create", rc=2)
    assert "not allowed" in xm("new", "-c", bad, rc=2) or "bad option" in xm("new", "-c", bad, rc=2)
    # a start that fails leaves nothing behind
    big = write("big.cfg", WEB_CFG.replace("memory = 256", "memory = 65536").replace('"web"', '"toobig"'))
    err = xm("create", big, rc=1)
    assert re.search(r"^Error: [A-Z_]+: ", err, re.M), err
    assert ok(P.VM.get_by_name_label(S, "toobig")) == []
    # dry runs print and touch nothing
    path = write("web.cfg", WEB_CFG)
    out = xm("create", "-n", path)
    assert out.startswith("(vm\n") and "(name web)" in out and "(memory 256)" in out, out
    assert "<label>web</label>" in xm("new", "-x", path)
    assert ok(P.VM.get_by_name_label(S, "web")) == []
    # SXP and XML files make the same VM
    sxp = write("web.sxp", out)
    xm("new", "-F", sxp, "name=from-sxp")
    xmlf = write("web.xml", xm("config-convert", "--to=xml", path, "name=from-xml"))
    xm("new", xmlf)
    a, b = ok(P.VM.get_record(S, vm_named("from-sxp"))), ok(P.VM.get_record(S, vm_named("from-xml")))
    for k in ("memory_static_max", "VCPUs_max", "PV_kernel", "PV_ramdisk", "PV_args", "actions_after_shutdown"):
        assert a[k] == b[k], (k, a[k], b[k])
    xm("delete", "from-sxp")
    xm("delete", "from-xml")
    # the converter's round trip
    cfg = xm("config-convert", "--to=cfg", sxp)
    assert 'name = "web"' in cfg.replace("'", '"'), cfg
    assert "say which format" in xm("config-convert", path, rc=2)
    assert "unknown format" in xm("config-convert", "--to=yaml", path, rc=2)


# ---- the console ----

def test_console_attach_type_detach():
    vm = new_vm("talker", PV_args="console=hvc0 quiet")
    assert "only a running or paused VM has a console" in xm("console", "talker", rc=1)
    ok(P.VM.start(S, vm, False))
    loc = ok(P.console.get_location(S, ok(P.VM.get_consoles(S, vm))[0]))
    assert loc.startswith("/dev/pts/"), loc
    # the boot banner waited in the pty; typing is echoed; Ctrl-] detaches
    rc, out = xm_pty(["console", "talker"], answers=[(r"XQ-GUEST-HELLO", "hello\r"),
                                                     (r"hello\r\nsim-guest# ", "\x1d")])
    assert rc == 0, out
    assert "Connected to %s" % loc in out and "command line: console=hvc0 quiet".lower() in out.lower(), out
    assert "Disconnected" in out
    # the VM still runs; attach again, and the console closes when it stops
    assert power(vm) == "Running"
    rc, out = xm_pty(["console", "-q", "talker"], answers=[(r"", "again\r"), (r"again\r\nsim-guest# ", None)],
                     during=lambda: ok(P.VM.hard_shutdown(S, vm)))
    assert rc == 0 and "Connected" not in out, out
    assert ok(P.console.get_location(S, ok(P.VM.get_consoles(S, vm))[0])).endswith(".log")
    # through a remote server the pty's path names nothing on this side
    ok(P.VM.start(S, vm, False))
    remote = env(XM_SERVER=X.url, XM_USERNAME=X.username, XM_PASSWORD=X.password)
    assert "run xm console there" in xm("console", "talker", rc=1, environ=remote)
    ok(P.VM.hard_shutdown(S, vm))
    # start -c: started and attached at once
    rc, out = xm_pty(["start", "-c", "talker"], answers=[(r"XQ-GUEST-HELLO", "\x1d")])
    assert rc == 0 and power(vm) == "Running", out
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))


# ---- host ----

def test_info_dmesg_log_uptime():
    info = xm("info").splitlines()
    keys = [l.split(":")[0].rstrip() for l in info]
    assert keys == sorted(keys, reverse=True), keys
    assert all(re.match(r"^[a-z_]{1,23} *: \S", l) and l.index(":") == 23 for l in info), info
    kv = {l[:23].rstrip(): l[25:] for l in info}
    host = ok(P.host.get_all(S))[0]
    assert kv["host"] == ok(P.host.get_name_label(S, host))
    assert kv["nr_cpus"] == "4" and kv["total_memory"] == "8192"
    assert "Xen version" in xm("dmesg")
    xm("dmesg", "-c")
    assert "Xen version" not in xm("dmesg")
    # the tail of the daemon's log (at debug, every call adds a line: the
    # start-up lines may be out of it already)
    assert re.search(r"^\S+ xend\[\d+\]: (error|warning|info|debug): ", xm("log"), re.M)
    vm = new_vm("upper")
    ok(P.VM.start(S, vm, False))
    up = xm("uptime").splitlines()
    assert up[0] == "%-33s %4s %s" % ("Name", "ID", "Uptime")
    assert any(re.match(r"^upper\s+\d+\s+\d:\d\d:\d\d$", l) for l in up), up
    assert re.match(r"^ \d\d:\d\d:\d\d up +\d+:\d\d:\d\d, upper \(\d+\)$", xm("uptime", "-s", "upper").strip("\n"))
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))


def test_top_batch_follows_events():
    vm = new_vm("topper")
    out = xm("top", "-b", "-i", "1")
    assert "topper" in out and "NAME" in out
    # a new screen comes when something changes
    p = subprocess.Popen([XM, "top", "-b", "-d", "0.1"], env=env(), stdout=subprocess.PIPE, text=True)
    try:
        first = ""
        while "topper" not in first:
            first += p.stdout.readline()
        assert re.search(r"^topper\s+-\s+Halted", first, re.M), first
        ok(P.VM.start(S, vm, False))
        deadline = time.time() + DEADLINE
        line = ""
        while not re.match(r"^topper\s+\d+\s+r-----", line):
            assert time.time() < deadline, "xm top did not show the started VM"
            line = p.stdout.readline()
            assert line, "xm top ended"
    finally:
        p.terminate()
        p.wait(timeout=DEADLINE)
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VM.destroy(S, vm))


# ---- devices ----

def test_block_and_network_devices():
    vm = new_vm("devs")
    sr = ok(P.SR.get_by_name_label(S, "QCoW"))[0]
    ok(P.VDI.create(S, {"name_label": "data-disk", "name_description": "", "SR": sr,
                        "virtual_size": str(4 * MIB), "type": "user", "sharable": False,
                        "read_only": False, "other_config": {}}))
    xm("block-attach", "devs", "data-disk", "xvdb", "w")
    vbds = ok(P.VM.get_VBDs(S, vm))
    assert len(vbds) == 1 and ok(P.VBD.get_device(S, vbds[0])) == "xvdb"
    assert ok(P.VBD.get_mode(S, vbds[0])) == "RW"
    xm("block-attach", "devs", "data-disk", "hdc:cdrom", "r")
    assert "the mode is r or w" in xm("block-attach", "devs", "data-disk", "xvdc", "x", rc=2)
    assert "no disk (VDI) is named" in xm("block-attach", "devs", "nodisk", "xvdc", "w", rc=4)
    out = xm("block-list", "devs").splitlines()
    assert out[0] == "Vdev  BE handle state evt-ch ring-ref BE-path"
    assert sorted(l.split()[0] for l in out[1:]) == ["51728", "5632"], out     # xvdb, hdc
    assert "(dev xvdb)" in xm("block-list", "-l", "devs")
    xm("block-detach", "devs", "xvdb")
    xm("block-detach", "devs", "5632")
    assert ok(P.VM.get_VBDs(S, vm)) == []
    assert "no block device 'xvdz'" in xm("block-detach", "devs", "xvdz", rc=4)

    xm("network-attach", "devs", "mac=00:16:3e:aa:bb:cc", "mtu=9000")
    xm("network-attach", "devs")
    vifs = ok(P.VM.get_VIFs(S, vm))
    assert sorted(ok(P.VIF.get_device(S, v)) for v in vifs) == ["eth0", "eth1"]
    out = xm("network-list", "devs").splitlines()
    assert out[0] == "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path"
    assert len(out) == 3 and "00:16:3e:aa:bb:cc" in out[1] + out[2]
    assert "has no XenAPI equivalent" in xm("network-attach", "devs", "script=vif-nat", rc=2)
    assert "network nosuchbridge doesn't exist" in xm("network-attach", "devs", "bridge=nosuchbridge", rc=4)
    xm("network-detach", "devs", "00:16:3e:AA:BB:CC")
    assert len(ok(P.VM.get_VIFs(S, vm))) == 1
    xm("network-detach", "devs", "0")
    assert ok(P.VM.get_VIFs(S, vm)) == []
    ok(P.VM.destroy(S, vm))


# ---- servers and credentials ----

def test_remote_http_credentials():
    e = env(XM_SERVER=X.url, XM_USERNAME=X.username, XM_PASSWORD=X.password)
    assert "Domain-0" in xm("list", environ=e)
    # -s wins over XM_SERVER
    assert "Domain-0" in xm("-s", X.url, "list", environ=env(XM_USERNAME=X.username, XM_PASSWORD=X.password))
    bad = env(XM_SERVER=X.url, XM_USERNAME=X.username, XM_PASSWORD="wrong")
    assert "SESSION_AUTHENTICATION_FAILED" in xm("list", rc=3, environ=bad)
    # no terminal to ask on: a clear error, exit 3
    out = xm("list", rc=3, environ=env(XM_SERVER=X.url), stdin=subprocess.DEVNULL)
    assert "needs a username and password" in out
    down = env(XM_SERVER="http://127.0.0.1:1/", XM_USERNAME="u", XM_PASSWORD="p")
    assert "cannot talk to the server" in xm("list", rc=3, environ=down)
    assert "unsupported server URL" in xm("-s", "ftp://x/", "list", rc=3)


def test_xm_config_xml():
    d = tempfile.mkdtemp(dir=X.tmp)
    path = os.path.join(d, "xm-config.xml")
    with open(path, "w") as f:
        f.write("<xm>\n  <server type='Xen-API' uri='%s' username='%s' password='%s'/>\n</xm>\n"
                % (X.url, X.username, X.password))
    os.chmod(path, 0o600)
    e = env(XM_CONFIG_FILE=path)
    e.pop("XM_SERVER")
    out = xm("list", environ=e)
    assert "Domain-0" in out and "Warning" not in out
    os.chmod(path, 0o644)
    assert "readable by others" in xm("list", environ=e)
    with open(path, "w") as f:
        f.write("<xm><server type='LegacyXMLRPC' uri='httpu:///var/run/xend/xmlrpc.sock'/></xm>")
    e["XM_SERVER"] = "unix://" + X.unix
    assert "not spoken by this xm" in xm("list", environ=e)
    with open(path, "w") as f:
        f.write("<xm><server type='Xen-API'")
    assert "not well-formed XML" in xm("list", environ=e, rc=3)


def test_password_prompt_on_terminal():
    e = env(XM_SERVER=X.url)
    rc, out = xm_pty(["list"], environ=e, answers=[(r"Username: $", X.username + "\n"),
                                                   (r"Password for .*: $", X.password + "\n")])
    assert rc == 0 and "Domain-0" in out, out
    assert X.password not in out, "the password was echoed"
    rc, out = xm_pty(["list"], environ=e, answers=[(r"Username: $", X.username + "\n"),
                                                   (r"Password for .*: $", "wrong\n")])
    assert rc == 3 and "SESSION_AUTHENTICATION_FAILED" in out and "wrong" not in out, out


def test_https_verified_with_ca_file():
    url = "https://localhost:%d/" % X.ports["tls"]
    e = env(XM_SERVER=url, XM_USERNAME=X.username, XM_PASSWORD=X.password)
    assert "Domain-0" in xm("--ca-file", CERT, "list", environ=e)
    # without the CA the certificate is not trusted
    assert "cannot talk to the server" in xm("list", environ=e, rc=3)


def main():
    global X, P, S, CERT
    if not os.access(XM, os.X_OK):
        print("SKIP: %s is not built" % XM)
        print("0 passed, 0 failed")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="xend-xm-")
    CERT, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key,
                    "-out", CERT], check=True, stderr=subprocess.DEVNULL)
    X = Xend(conf=["listen = https:127.0.0.1:{port:tls} auth=pam cert=%s key=%s" % (CERT, key)], tmp=tmp)
    try:
        X.start()
        P, S = X.unix_session()
        run([test_help_and_prefixes, test_bash_completion, test_list_columns_and_filters, test_list_long_is_xend_sxp,
             test_lifecycle_commands, test_shutdown_all_and_without_wait, test_memory_vcpus_scheduler,
             test_save_restore_suspend_resume_progress, test_migrate_and_dump_core_report_errors,
             test_walkthrough_new_start_watch_shutdown_delete, test_create_is_run_once_with_overrides,
             test_create_errors_and_dry_runs, test_corpus_networks_are_created, test_console_attach_type_detach, test_info_dmesg_log_uptime, test_top_batch_follows_events, test_block_and_network_devices,
             test_remote_http_credentials, test_xm_config_xml, test_password_prompt_on_terminal,
             test_https_verified_with_ca_file])
    finally:
        X.cleanup()


if __name__ == "__main__":
    main()
