#!/usr/bin/env python3
"""Observability (docs/logging.md): per-domain log filters from xend.conf,
changed by SIGHUP; one debug line per API call (method, user, duration,
result code, never an argument); VM operations at info."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, Xend, fails, ok, run, xend_binary  # noqa: E402

MIB = 1024 * 1024
CALL_LINE = re.compile(r"debug: call: (\S+) user=(\S+) from=(\S+) (\d+\.\d{3}) ms (Success|Failure (\S+))$", re.M)


def log_text(x):
    with open(x.log) as f:
        return f.read()


def wait_log(x, needle, start=0):
    """Waits until the log, from offset start, holds needle; returns that part."""
    deadline = time.time() + DEADLINE
    while time.time() < deadline:
        part = log_text(x)[start:]
        if needle in part:
            return part
        time.sleep(0.05)
    raise AssertionError("%r not in the log within %d s:\n%s" % (needle, DEADLINE, log_text(x)[start:][-3000:]))


def configure(x, **keys):
    """Sets xend.conf's keys (log_level, log_filters) and writes the file;
    a log-level given here replaces the test harness's own (debug)."""
    names = {k.replace("_", "-") for k in keys}
    x.extra_conf = [l for l in x.extra_conf if l.split(" = ")[0] not in names]
    x.extra_conf += ["%s = %s" % (k.replace("_", "-"), v) for k, v in keys.items()]
    x.write_conf()
    if any(l.startswith("log-level = ") for l in x.extra_conf):
        with open(x.conf) as f:
            lines = [l for l in f if l != "log-level = debug\n"]
        with open(x.conf, "w") as f:
            f.writelines(lines)


def reload(x):
    start = len(log_text(x))
    x.proc.send_signal(signal.SIGHUP)
    return wait_log(x, "reload: done", start)


def new_vm(p, s, name):
    rec = {"name_label": name, "memory_static_max": str(256 * MIB), "memory_dynamic_max": str(256 * MIB),
           "memory_dynamic_min": str(128 * MIB), "memory_static_min": str(16 * MIB), "VCPUs_max": "2",
           "VCPUs_at_startup": "1", "PV_kernel": "/boot/vmlinuz", "actions_after_shutdown": "destroy",
           "actions_after_reboot": "restart", "actions_after_crash": "destroy"}
    return ok(p.VM.create(s, rec))


def test_one_debug_line_per_call_and_never_an_argument():
    x = Xend(pam=False)
    configure(x, log_level="info", log_filters="call=debug")
    try:
        x.start()
        p = x.unix_proxy()
        start = len(log_text(x))
        s = ok(p.session.login_with_password("root", "not-a-secret-but-an-argument"))
        secret_ref = "6f1c0a5e-0000-4000-8000-0000feedbeef"
        fails(p.VM.get_record(s, secret_ref), "HANDLE_INVALID")
        vms = ok(p.VM.get_all(s))
        assert isinstance(vms, list)
        part = wait_log(x, "call: VM.get_all ", start)
        lines = {m.group(1): m for m in CALL_LINE.finditer(part)}
        assert "session.login_with_password" in lines, part
        login = lines["session.login_with_password"]
        assert login.group(2) == "-" and login.group(3) == "unix" and login.group(5) == "Success", login.group(0)
        bad = lines["VM.get_record"]
        assert bad.group(2) == "root" and bad.group(6) == "HANDLE_INVALID", bad.group(0)
        assert lines["VM.get_all"].group(5) == "Success"
        assert float(lines["VM.get_all"].group(4)) >= 0
        # one line per call: three calls, three lines
        assert len(CALL_LINE.findall(part)) == 3, part
        text = log_text(x)
        assert "not-a-secret-but-an-argument" not in text and secret_ref not in text, "an argument was logged"
        assert s not in text, "a session ref was logged"
        # the other domains stay at the global level (info)
        assert not re.search(r"debug: (?!call:)", text), "a debug line of another domain at level info"
        x.stop()
    finally:
        x.cleanup()


def test_vm_operations_at_info():
    x = Xend(pam=False)
    configure(x, log_level="info")
    try:
        x.start()
        p, s = x.unix_session()
        vm = new_vm(p, s, "obs-1")
        uuid = ok(p.VM.get_uuid(s, vm))
        ok(p.VM.start(s, vm, False))
        part = wait_log(x, "VM.start of VM %s" % uuid)
        assert re.search(r"info: vm: VM\.start of VM %s \(obs-1\) by root: done" % uuid, part), part
        ok(p.VM.hard_shutdown(s, vm))
        wait_log(x, "info: vm: VM.hard_shutdown of VM %s (obs-1) by root: done" % uuid)
        assert "debug: call:" not in log_text(x), "call lines at level info without a filter"
        x.stop()
    finally:
        x.cleanup()


def test_filters_change_on_sighup_and_bad_ones_are_refused():
    x = Xend(pam=False)
    configure(x, log_level="info", log_filters="call=debug")
    try:
        x.start()
        p, s = x.unix_session()
        start = len(log_text(x))
        ok(p.host.get_all(s))
        wait_log(x, "call: host.get_all ", start)
        # filters off: no more call lines
        configure(x, log_filters="none")
        out = reload(x)
        assert "log filters:" not in out, out
        start = len(log_text(x))
        ok(p.host.get_all(s))
        ok(p.VM.get_all(s))
        marker = "6a000000-0000-4000-8000-00000000cafe"
        fails(p.VM.get_record(s, marker), "HANDLE_INVALID")
        time.sleep(0.2)
        assert "call: host.get_all" not in log_text(x)[start:], "a call line after the filter was removed"
        # a whole-daemon filter ("*") and the call domain kept quiet
        configure(x, log_filters="*=debug, call=warning")
        out = reload(x)
        assert "reload: log filters: *=debug, call=warning" in out, out
        start = len(log_text(x))
        ok(p.VM.get_all(s))
        time.sleep(0.2)
        assert "call: VM.get_all" not in log_text(x)[start:]
        # a bad filter: the reload is refused, the running filters stay
        configure(x, log_filters="call=loud")
        start = len(log_text(x))
        x.proc.send_signal(signal.SIGHUP)
        out = wait_log(x, "the running configuration is kept", start)
        assert "log-filters: log filter 'call=loud'" in out, out
        assert x.proc.poll() is None
        # xend -n says the same about the file
        r = subprocess.run([xend_binary(), "-n", "--config", x.conf], capture_output=True, text=True)
        assert r.returncode != 0 and "log filter 'call=loud'" in r.stderr + r.stdout, (r.stdout, r.stderr)
        x.stop()
    finally:
        x.cleanup()


if __name__ == "__main__":
    run([test_one_debug_line_per_call_and_never_an_argument, test_vm_operations_at_info,
         test_filters_change_on_sighup_and_bad_ones_are_refused])
