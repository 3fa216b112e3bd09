#!/usr/bin/python3
"""xend as a service: an honest start in daemon mode (the parent exits once
the daemon answers, or fails with the daemon's reason), one daemon per state
directory, a pid file owned by its daemon, what a Type=notify unit hears
(sd_notify), journald priorities, a log file no one else may read, SIGHUP reloading xend.conf, and what happens to guests
when xend starts (auto_power_on) and stops (on_xend_stop)."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, UnixTransport, free_port, ok, run, xend_binary  # noqa: E402

MIB = 1 << 20


def wait_for(cond, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))


def daemon_start(x, *extra):
    """xend in daemon mode (no --foreground): returns the parent's result."""
    return subprocess.run([xend_binary(), "--config", x.conf, "--backend", "sim"] + list(extra),
                          capture_output=True, text=True, timeout=120)


def pid_of(x):
    with open(x.pid_file) as f:
        return int(f.read().strip())


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_daemon(pid):
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not alive(pid), "daemon %d to exit" % pid)


def answers_unix(path):
    p = xmlrpc.client.ServerProxy("http://localhost/", transport=UnixTransport(path))
    s = ok(p.session.login_with_password("root", ""))
    return isinstance(ok(p.VM.get_all(s)), list)


def test_daemon_mode_parent_waits_until_ready():
    x = Xend(pam=False)
    try:
        r = daemon_start(x)
        assert r.returncode == 0, "daemon start failed: %d %s" % (r.returncode, r.stderr)
        # no retry loop: the parent has exited, so the daemon must answer now
        assert answers_unix(x.unix), "the daemon did not answer right after the parent exited"
        pid = pid_of(x)
        assert alive(pid) and pid != os.getpid()
        mode = os.stat(x.log).st_mode & 0o777
        assert mode & 0o007 == 0, "log file is world-accessible: %o" % mode
        stop_daemon(pid)
        assert not os.path.exists(x.pid_file), "the pid file was left behind"
    finally:
        x.cleanup()


def test_port_taken_daemon_start_fails_with_reason():
    x = Xend(pam=False)
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", x.port))
    holder.listen(1)
    try:
        r = daemon_start(x)
        assert r.returncode == 1, "exit status %d (want 1); stderr: %s" % (r.returncode, r.stderr)
        assert "Address already in use" in r.stderr and str(x.port) in r.stderr, r.stderr
        log = open(x.log).read()
        assert re.search(r"error: listen: .*%d.*Address already in use" % x.port, log), log[-2000:]
        assert not os.path.exists(x.pid_file), "a failed start left its pid file"
        assert not os.path.exists(x.unix), "a failed start left its Unix socket"
    finally:
        holder.close()
        x.cleanup()


def second_daemon(a, b, attr):
    """Starts a, gives b a's `attr` ("state" or "pid_file") and starts b in
    daemon mode: b must be refused with a's pid in the reason."""
    a.start()
    first = pid_of(a)
    setattr(b, attr, getattr(a, attr))
    b.write_conf()
    r = daemon_start(b)
    what = "state directory %s" % a.state if attr == "state" else "pid file %s" % a.pid_file
    assert r.returncode == 1, "second daemon: exit %d, stderr %s" % (r.returncode, r.stderr)
    assert "%s is in use by another xend (pid %d)" % (what, first) in r.stderr, r.stderr
    assert pid_of(a) == first, "the refused daemon touched the pid file"
    return first


def test_second_daemon_on_same_state_dir_refused():
    a = Xend(pam=False)
    b = Xend(pam=False)
    try:
        first = second_daemon(a, b, "state")
        try:
            b.start(timeout=30)
            raise AssertionError("a foreground xend on the same state directory started")
        except RuntimeError as e:
            assert "in use by another xend" in str(e), e
        assert not os.path.exists(b.unix)
        assert answers_unix(a.unix), "the first daemon stopped answering"
        assert pid_of(a) == first
    finally:
        b.cleanup()
        a.cleanup()


def test_pid_file_owned_by_its_daemon():
    a = Xend(pam=False)
    b = Xend(pam=False)
    try:
        second_daemon(a, b, "pid_file")
        a.stop()
        assert not os.path.exists(a.pid_file)
    finally:
        b.cleanup()
        a.cleanup()


def test_journald_priorities():
    x = Xend(pam=False)
    try:
        with open(x.conf) as f:
            conf = [l for l in f if not l.startswith("log-file")]
        with open(x.conf, "w") as f:
            f.writelines(conf)
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        err = os.path.join(x.tmp, "journal-stream")
        fd = os.open(err, os.O_WRONLY | os.O_CREAT, 0o600)
        st = os.fstat(fd)
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        x.proc = subprocess.Popen([xend_binary(), "--foreground", "--config", x.conf, "--backend", "sim",
                                   "--tcp", "127.0.0.1:%d" % holder.getsockname()[1]], stderr=fd, env=env)
        os.close(fd)
        x.proc.wait(timeout=60)
        holder.close()
        x.proc = None
        lines = open(err).read().splitlines()
        assert any(l.startswith("<6>info: ") for l in lines), lines[:5]
        assert any(l.startswith("<3>error: listen: ") for l in lines), lines[-5:]
        assert all(re.match(r"<[0-7]>", l) for l in lines), [l for l in lines if not re.match(r"<[0-7]>", l)]
    finally:
        x.cleanup()


# ---- SIGHUP ----

def hup_and_wait(x, marker):
    """SIGHUP, then wait for the reload's closing line after the log's current end."""
    start = os.path.getsize(x.log)
    x.proc.send_signal(signal.SIGHUP)

    def done():
        with open(x.log) as f:
            f.seek(start)
            text = f.read()
        return text if marker in text else None
    return wait_for(done, "'%s' in the log after SIGHUP" % marker)


def edit_conf(x, set_keys=None, add=()):
    """Rewrites x's xend.conf: keys in set_keys get that value (None: the
    line goes), lines in add are appended."""
    set_keys = set_keys or {}
    out = []
    with open(x.conf) as f:
        for line in f:
            key = line.split("=", 1)[0].strip()
            if key in set_keys:
                if set_keys[key] is not None:
                    out.append("%s = %s\n" % (key, set_keys.pop(key)))
                continue
            out.append(line)
    out += ["%s = %s\n" % kv for kv in set_keys.items() if kv[1] is not None]
    out += [l + "\n" for l in add]
    with open(x.conf, "w") as f:
        f.writelines(out)


def test_sighup_reload():
    x = Xend(pam=False)
    try:
        edit_conf(x, {"log-level": "info"})
        x.start()
        assert "debug:" not in open(x.log).read(), "debug lines at log level info"
        # a listener added, the log level changed
        port2 = free_port()
        edit_conf(x, {"log-level": "debug"}, ["listen = http:127.0.0.1:%d auth=none" % port2])
        out = hup_and_wait(x, "reload: done, 3 listener(s)")
        assert "reload: log level debug" in out, out
        p2 = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % port2)
        s = ok(p2.session.login_with_password("root", ""))
        assert ok(p2.VM.get_all(s)) is not None
        p2("close")()       # its kept-alive connection would hold the listener below
        # the listener removed again: it stops accepting at once, and is
        # stopped (a debug line, so the new level is in force) when idle
        x.write_conf()
        edit_conf(x, {"log-level": "debug"})
        out = hup_and_wait(x, "reload: done, 2 listener(s)")
        assert "listener http:127.0.0.1:%d auth=none removed" % port2 in out, out
        try:
            socket.create_connection(("127.0.0.1", port2), timeout=5).close()
            raise AssertionError("the removed listener still accepts connections")
        except ConnectionRefusedError:
            pass
        wait_for(lambda: "debug: http:127.0.0.1:%d auth=none: retired listener stopped" % port2 in open(x.log).read(),
                 "the retired listener to stop")
        # unchangeable settings refused, the running ones kept
        edit_conf(x, {"log-level": "info", "workers": "3", "state-dir": "%s/other" % x.tmp})
        out = hup_and_wait(x, "reload: done, 2 listener(s)")
        assert "reload: state-dir cannot change while xend runs (restart it); keeping %s" % x.state in out, out
        assert "reload: workers cannot change" in out, out
        assert not os.path.exists(os.path.join(x.tmp, "other")), "the state directory changed"
        assert answers_unix(x.unix)
        # an invalid file: everything stays as it was
        edit_conf(x, add=["frobnicate = 1"])
        out = hup_and_wait(x, "the running configuration is kept")
        assert "frobnicate" in out, out
        assert answers_unix(x.unix) and "VM.get_all" in x.proxy().system.listMethods()
        x.stop()
    finally:
        x.cleanup()


def test_sd_notify():
    """systemd's side of Type=notify: a datagram socket the test holds is
    NOTIFY_SOCKET, as systemd's is. READY=1 with a STATUS once xend serves;
    RELOADING=1 then READY=1 around a SIGHUP; WATCHDOG=1 while WATCHDOG_USEC
    is set; STOPPING=1 on SIGTERM."""
    x = Xend(pam=False)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = os.path.join(x.tmp, "notify")
    sock.bind(path)
    sock.settimeout(30)
    heard = []

    def hear(what):
        while not any(what in m for m in heard):
            try:
                heard.append(sock.recv(4096).decode())
            except socket.timeout:
                raise AssertionError("no %r from xend in 30 s; heard %r" % (what, heard))
        return next(m for m in heard if what in m)

    saved = {k: os.environ.get(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    try:
        os.environ["NOTIFY_SOCKET"] = path
        os.environ["WATCHDOG_USEC"] = "60000000"
        os.environ.pop("WATCHDOG_PID", None)
        x.start()
        ready = hear("READY=1")
        assert "STATUS=" in ready, ready
        assert answers_unix(x.unix), "READY=1 before xend answers"
        hear("WATCHDOG=1")
        del heard[:]
        x.proc.send_signal(signal.SIGHUP)
        hear("RELOADING=1")
        again = hear("READY=1")
        assert "configuration reloaded" in again, heard
        assert heard.index(again) > heard.index(hear("RELOADING=1")), heard
        x.stop()
        assert "STATUS=stopping" in hear("STOPPING=1"), heard
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sock.close()
        x.cleanup()


# ---- guests when xend starts and stops ----

def new_vm(p, s, name, **extra):
    rec = {"name_label": name, "memory_static_max": str(256 * MIB), "memory_dynamic_max": str(256 * MIB),
           "memory_dynamic_min": str(128 * MIB), "memory_static_min": str(16 * MIB),
           "VCPUs_max": "2", "VCPUs_at_startup": "1", "PV_kernel": "/boot/vmlinuz",
           "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
           "actions_after_crash": "destroy"}
    rec.update(extra)
    return ok(p.VM.create(s, rec))


def power(x, vm):
    p, s = x.unix_session()
    return ok(p.VM.get_power_state(s, vm))


def test_auto_power_on_once_per_boot():
    x = Xend(pam=False)
    try:
        x.start()
        # the first start's autostart pass runs just after readiness: let it
        # finish before there is a VM it could take
        wait_for(lambda: "autostart: no halted VM is marked auto_power_on" in open(x.log).read(),
                 "the first start's autostart pass")
        p, s = x.unix_session()
        auto = new_vm(p, s, "auto", auto_power_on=True)
        manual = new_vm(p, s, "manual")
        boot_file = os.path.join(x.state, "autostart-boot-id")
        # recorded right after readiness, which the harness may see first
        wait_for(lambda: os.path.exists(boot_file), "the first start to record the boot in %s" % boot_file)
        # a restart within the same boot starts nothing
        x.restart()
        time.sleep(1)
        assert power(x, auto) == "Halted", "auto_power_on VM started on a restart within the boot"
        # a new boot (the record says another one): the auto_power_on VM starts, the other not
        with open(boot_file, "w") as f:
            f.write("00000000-0000-0000-0000-000000000000\n")
        x.restart()
        wait_for(lambda: power(x, auto) == "Running", "the auto_power_on VM to run")
        assert power(x, manual) == "Halted"
        wait_for(lambda: "autostart: 1 of 1 VM(s) started" in open(x.log).read(), "autostart's closing line")
        x.stop()
    finally:
        x.cleanup()


def test_on_xend_stop():
    x = Xend(pam=False, conf=["on-xend-stop = shutdown"])
    try:
        x.start()
        p, s = x.unix_session()
        down = new_vm(p, s, "down")
        keep = new_vm(p, s, "keep", other_config={"on_xend_stop": "ignore"})
        susp = new_vm(p, s, "susp", other_config={"on_xend_stop": "suspend"})
        paused = new_vm(p, s, "paused")
        for vm in (down, keep, susp):
            ok(p.VM.start(s, vm, False))
        ok(p.VM.start(s, paused, True))
        x.stop()
        log = open(x.log).read()
        assert "on_xend_stop: 2 of 2 done" in log, log[-3000:]
        assert "on_xend_stop: 1 guest(s) left running" in log
        assert "is paused: on_xend_stop shutdown is not applied" in log
        x.start()
        assert power(x, down) == "Halted"
        assert power(x, keep) == "Running"
        assert power(x, susp) == "Suspended"
        assert power(x, paused) == "Paused"
        x.stop()
    finally:
        x.cleanup()


if __name__ == "__main__":
    run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
