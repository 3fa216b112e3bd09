#!/usr/bin/python3
"""pyxen (python/xen/xenapi.py) against the real daemon, through pyxen only:
PAM login over HTTP, failures as exceptions with exact details, the Unix
socket, HTTPS with verification, VM lifecycle, Async calls polled through
task.get_record, event.next woken in a thread, transparent re-login, and
get_all_records of every class of the datamodel; the XenAPI shim and the
list-vms example."""
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("XEND_SRCDIR", os.path.join(HERE, "..", ".."))
PYDIR = os.path.join(SRCDIR, "python")
sys.path.insert(0, PYDIR)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(SRCDIR, "tools"))
import datamodel  # noqa: E402
from xendtest import DEADLINE, Xend, run  # noqa: E402
from xen.xenapi import Session, Failure, local_session  # noqa: E402

M = datamodel.Model(os.path.join(SRCDIR, "datamodel", "xenapi.json"))
MIB = 1024 * 1024
X = None
CERT = None
TLS_PORT = None


def login():
    s = Session(X.url)
    s.login_with_password(X.username, X.password)
    return s


def unix_url():
    return "unix://" + X.unix


def expect_failure(fn, *details):
    """fn() must raise Failure whose details equal details exactly."""
    try:
        r = fn()
    except Failure as f:
        assert f.details == list(details), "expected %r, got %r" % (list(details), f.details)
        return f
    raise AssertionError("expected Failure %r, got result %r" % (list(details), r))


def vm_record(name):
    return {"name_label": name, "memory_static_max": str(256 * MIB), "memory_dynamic_max": str(256 * MIB),
            "memory_dynamic_min": str(128 * MIB), "memory_static_min": str(16 * MIB),
            "VCPUs_max": "1", "VCPUs_at_startup": "1", "PV_kernel": "/boot/vmlinuz-test"}


def wait_task(s, task, timeout=DEADLINE):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rec = s.xenapi.task.get_record(task)
        if rec["status"] != "pending":
            return rec
        time.sleep(0.05)
    raise AssertionError("task %s still pending" % task)


# ---- tests ----

def test_login_over_http_with_pam():
    s = Session(X.url)
    assert s.handle == ""
    ref = s.login_with_password(X.username, X.password)
    assert isinstance(ref, str) and len(ref) == 36 and s.handle == ref
    hosts = s.xenapi.host.get_all()
    assert len(hosts) == 1
    # ints stay decimal strings, as they travel
    assert s.xenapi.host.get_API_version_major(hosts[0]) == "1"
    assert s.xenapi.session.get_this_user(ref) == X.username
    # the aliases log in and out the same way
    s2 = Session(X.url)
    ref2 = s2.xenapi.login_with_password(X.username, X.password)
    assert ref2 != ref and s2.handle == ref2
    assert s2.xenapi.session.logout() == ""
    assert s2.handle == ""
    # the first session is untouched by the second one's logout
    assert s.xenapi.host.get_all() == hosts
    s.logout()
    expect_failure(lambda: Session(X.url).xenapi.session.get_uuid(ref), "SESSION_INVALID", "")


def test_bad_password_fails():
    s = Session(X.url)
    f = expect_failure(lambda: s.login_with_password(X.username, "wrong-" + X.password),
                       "SESSION_AUTHENTICATION_FAILED")
    assert isinstance(f, Exception) and f.code == "SESSION_AUTHENTICATION_FAILED"
    assert "SESSION_AUTHENTICATION_FAILED" in str(f) and "password" in str(f), str(f)
    assert s.handle == ""
    # no credentials kept from a failed login: no re-login either
    expect_failure(lambda: s.xenapi.VM.get_all(), "SESSION_INVALID", "")
    expect_failure(lambda: s.xenapi.login_with_password("no-such-user-xyz", "x"), "SESSION_AUTHENTICATION_FAILED")


def test_system_list_methods_without_session():
    s = Session(X.url)
    methods = s.xenapi.system.listMethods()
    assert "VM.get_all" in methods and "Async.VM.start" not in methods and "system.listMethods" in methods
    with open(os.path.join(SRCDIR, "api", "methods.txt")) as f:
        manifest = sorted(line.split("(", 1)[0] for line in f
                          if line.strip() and not line.startswith("#") and not line.startswith("Async."))
    assert sorted(methods) == manifest, set(methods) ^ set(manifest)


def test_unix_socket():
    s = Session(unix_url())
    s.login_with_password("anyone", "anything")       # auth=none on the socket
    assert len(s.xenapi.host.get_all()) == 1
    assert s.xenapi.session.get_this_user(s.handle) == "anyone"
    s.logout()
    # the same through the helper, with the socket path given, and unix:/path
    s = local_session(X.unix, username="root")
    assert s.handle and s.xenapi.VM.get_all() is not None
    s.logout()
    s = Session("unix:" + X.unix)
    assert "VM.get_all" in s.xenapi.system.listMethods()
    # a context manager logs out at exit
    with Session(unix_url()) as s:
        s.login_with_password("root", "")
        ref = s.handle
    assert s.handle == ""
    expect_failure(lambda: local_session(X.unix).xenapi.session.get_uuid(ref), "SESSION_INVALID", "")


def test_https_verification():
    url = "https://localhost:%d/" % TLS_PORT
    # verification on by default: the test CA is unknown to the system store
    import ssl
    try:
        Session(url).login_with_password(X.username, X.password)
        raise AssertionError("an unknown CA was accepted")
    except ssl.SSLError:
        pass
    s = Session(url, cafile=CERT)
    s.login_with_password(X.username, X.password)
    assert len(s.xenapi.host.get_all()) == 1
    s.logout()
    s = Session(url, verify=False)
    s.login_with_password(X.username, X.password)
    assert len(s.xenapi.host.get_all()) == 1
    s.logout()


def test_vm_create_get_record_set_destroy():
    s = login()
    vm = s.xenapi.VM.create(vm_record("pyxen-vm"))
    rec = s.xenapi.VM.get_record(vm)
    assert rec["name_label"] == "pyxen-vm" and rec["power_state"] == "Halted", rec
    assert rec["memory_static_max"] == str(256 * MIB), rec["memory_static_max"]
    assert vm in s.xenapi.VM.get_all()
    assert s.xenapi.VM.get_by_uuid(rec["uuid"]) == vm
    assert s.xenapi.VM.set_name_label(vm, "renamed") == ""
    s.xenapi.VM.set_memory_dynamic_max(vm, str(200 * MIB))
    s.xenapi.VM.add_to_other_config(vm, "k", "v")
    rec = s.xenapi.VM.get_record(vm)
    assert rec["name_label"] == "renamed" and rec["memory_dynamic_max"] == str(200 * MIB)
    assert rec["other_config"]["k"] == "v"
    assert vm in s.xenapi.VM.get_by_name_label("renamed")
    # a wrong state is a Failure with the exact parameters
    s.xenapi.VM.start(vm, False)
    assert s.xenapi.VM.get_power_state(vm) == "Running"
    expect_failure(lambda: s.xenapi.VM.start(vm, False), "VM_BAD_POWER_STATE", vm, "Halted", "Running")
    s.xenapi.VM.hard_shutdown(vm)
    assert s.xenapi.VM.destroy(vm) == ""
    assert vm not in s.xenapi.VM.get_all()
    s.logout()


def test_handle_invalid_details():
    s = login()
    bogus = "00000000-0000-4000-8000-000000000000"
    f = expect_failure(lambda: s.xenapi.VM.get_record(bogus), "HANDLE_INVALID", "VM", bogus)
    assert f.params == ["VM", bogus]
    assert "HANDLE_INVALID" in str(f) and bogus in str(f) and "VM" in str(f), str(f)
    expect_failure(lambda: s.xenapi.network.get_name_label(bogus), "HANDLE_INVALID", "network", bogus)
    expect_failure(lambda: s.xenapi.VM.destroy(bogus), "HANDLE_INVALID", "VM", bogus)
    expect_failure(lambda: s.xenapi.VM.no_such_message(), "MESSAGE_METHOD_UNKNOWN", "VM.no_such_message")
    expect_failure(lambda: s.xenapi.VM.get_record(), "MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "2", "1")
    s.logout()


def test_async_polled_through_task_record():
    s = login()
    task = s.xenapi.Async.VM.create(vm_record("pyxen-async"))
    rec = wait_task(s, task)
    assert rec["status"] == "success" and rec["progress"] == "100", rec
    vm = rec["result"]
    assert s.xenapi.VM.get_name_label(vm) == "pyxen-async"
    task = s.xenapi.Async.VM.start(vm, False)
    rec = wait_task(s, task)
    assert rec["status"] == "success" and rec["name_label"] == "VM.start", rec
    assert s.xenapi.VM.get_power_state(vm) == "Running"
    # a failing task: the reason is in error_info, the Async call itself succeeds
    rec = wait_task(s, s.xenapi.Async.VM.start(vm, False))
    assert rec["status"] == "failure" and rec["error_info"] == ["VM_BAD_POWER_STATE", vm, "Halted", "Running"], rec
    # an Async call can fail before any task exists
    expect_failure(lambda: s.xenapi.Async.VM.destroy("nope"), "HANDLE_INVALID", "VM", "nope")
    rec = wait_task(s, s.xenapi.Async.VM.hard_shutdown(vm))
    assert rec["status"] == "success", rec
    s.xenapi.VM.destroy(vm)
    s.logout()


def test_event_next_in_a_thread():
    s = login()                      # one Session shared by two threads
    s.xenapi.event.register(["VM"])
    got = []
    errors = []

    def waiter():
        try:
            deadline = time.time() + DEADLINE
            while time.time() < deadline:
                evs = s.xenapi.event.next()
                got.extend(evs)
                if any(e["operation"] == "mod" and e["class"] == "VM" for e in evs):
                    return
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    vm = s.xenapi.VM.create(vm_record("pyxen-ev"))
    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    time.sleep(0.5)
    assert t.is_alive() or got, errors
    # this thread makes calls while the other is blocked in event.next
    s.xenapi.VM.set_name_label(vm, "pyxen-ev-renamed")
    t.join(20)
    assert not t.is_alive(), "event.next was not woken"
    assert not errors, errors
    mods = [e for e in got if e["operation"] == "mod" and e["ref"] == vm]
    assert mods and mods[0]["class"] == "VM" and mods[0]["obj_uuid"] == vm, got
    assert all(isinstance(e["id"], str) for e in got)
    s.xenapi.event.unregister(["VM"])
    s.xenapi.VM.destroy(vm)
    s.logout()


def test_relogin_after_logout_elsewhere():
    s = login()
    old = s.handle
    # another client ends the session behind this Session's back
    other = Session(unix_url())
    other.xenapi_request("session.logout", ())       # not logged in: nothing to end
    raw = Session(X.url)
    raw._raw("session.logout", (old,))
    hosts = s.xenapi.host.get_all()                 # SESSION_INVALID -> log in again -> retry
    assert len(hosts) == 1
    assert s.handle and s.handle != old
    assert s.xenapi.session.get_this_user(s.handle) == X.username
    # a second time works too (once per failure, not once per Session)
    raw._raw("session.logout", (s.handle,))
    assert s.xenapi.host.get_all() == hosts
    # never a loop: when the login itself fails, the SESSION_INVALID is raised
    cur = s.handle
    raw._raw("session.logout", (cur,))
    s._login = ("session.login_with_password", (X.username, "wrong"))
    expect_failure(lambda: s.xenapi.host.get_all(), "SESSION_INVALID", cur)
    # after an explicit logout, no re-login
    s.login_with_password(X.username, X.password)
    s.logout()
    expect_failure(lambda: s.xenapi.host.get_all(), "SESSION_INVALID", "")


class CountingSession(Session):
    """Counts the logins it sends."""
    logins = 0

    def _raw(self, method, params):
        if method == "session.login_with_password":
            self.logins += 1
        return super()._raw(method, params)


def test_threads_share_a_session():
    s = CountingSession(X.url)
    s.login_with_password(X.username, X.password)
    Session(X.url)._raw("session.logout", (s.handle,))      # every thread will see SESSION_INVALID
    errors = []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait(10)
            for _ in range(20):
                assert len(s.xenapi.host.get_all()) == 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors
    # one re-login served every thread
    assert s.logins == 2, s.logins
    assert s.xenapi.session.get_this_user(s.handle) == X.username
    s.logout()
    # a timeout applies to the connection: event.next on nothing gives up
    t = Session(unix_url(), timeout=0.5)
    t.login_with_password("root", "")
    t.xenapi.event.register(["PSCSI_HBA"])
    t0 = time.time()
    try:
        t.xenapi.event.next()
        raise AssertionError("event.next returned without an event")
    except OSError:
        pass
    assert time.time() - t0 < 5


def test_get_all_records_of_every_class():
    s = login()
    methods = s.xenapi.system.listMethods()
    served = sorted(m.split(".")[0] for m in methods if m.endswith(".get_all_records") and m.count(".") == 1)
    model = sorted(c.name for c in M.classes if c.has("get_all_records"))
    assert served == model, set(served) ^ set(model)
    assert len(model) >= 30, model
    vm = s.xenapi.VM.create(vm_record("pyxen-all"))
    for name in model:
        recs = getattr(s.xenapi, name).get_all_records()
        assert isinstance(recs, dict), (name, recs)
        if M.class_by_name[name].has("get_all"):
            refs = getattr(s.xenapi, name).get_all()
            assert sorted(recs) == sorted(refs), (name, sorted(recs), sorted(refs))
        fields = {f.name for f in M.class_by_name[name].fields}
        for ref, rec in recs.items():
            assert set(rec) >= fields, (name, fields - set(rec))
    assert s.xenapi.VM.get_all_records()[vm]["name_label"] == "pyxen-all"
    assert len(s.xenapi.host.get_all_records()) == 1
    s.xenapi.VM.destroy(vm)
    s.logout()


def test_xenapi_shim():
    r = subprocess.run([sys.executable, "-c",
                        "import sys; sys.path.insert(0, %r)\n"
                        "import XenAPI, xen.xenapi\n"
                        "assert XenAPI.Session is xen.xenapi.Session and XenAPI.Failure is xen.xenapi.Failure\n"
                        "s = XenAPI.Session(%r)\n"
                        "s.xenapi.login_with_password('root', '')\n"
                        "try:\n"
                        "    s.xenapi.VM.get_record('x')\n"
                        "except XenAPI.Failure as f:\n"
                        "    print(f.details)\n"
                        "s.xenapi.session.logout()\n" % (PYDIR, unix_url())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['HANDLE_INVALID', 'VM', 'x']", r.stdout


def test_list_vms_example():
    s = login()
    vms = [s.xenapi.VM.create(vm_record(n)) for n in ("pyxen-ex-a", "pyxen-ex-b")]
    s.xenapi.VM.start(vms[1], False)
    example = os.path.join(PYDIR, "examples", "list-vms.py")
    r = subprocess.run([sys.executable, example, X.url, X.username, X.password],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "pyxen-ex-a\tHalted" in lines and "pyxen-ex-b\tRunning" in lines, r.stdout
    assert len(lines) == len(s.xenapi.VM.get_all()), (lines, s.xenapi.VM.get_all())
    r = subprocess.run([sys.executable, example, X.url, X.username, "wrong"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "SESSION_AUTHENTICATION_FAILED" in r.stderr, (r.returncode, r.stderr)
    r = subprocess.run([sys.executable, example, unix_url()], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "pyxen-ex-b\tRunning" in r.stdout.splitlines(), (r.stdout, r.stderr)
    s.xenapi.VM.hard_shutdown(vms[1])
    for v in vms:
        s.xenapi.VM.destroy(v)
    s.logout()


def test_failure_str_and_repr():
    f = Failure(["VM_BAD_POWER_STATE", "v", "Halted", "Running"])
    assert str(f) == "VM_BAD_POWER_STATE: VM v must be Halted for this operation but is Running", str(f)
    assert repr(f) == "Failure(['VM_BAD_POWER_STATE', 'v', 'Halted', 'Running'])"
    assert str(Failure(["SOME_CODE", "a", "b"])) == "SOME_CODE: a, b"
    assert str(Failure(["HANDLE_INVALID"])) == "HANDLE_INVALID"       # too few parameters: no crash
    try:
        Session("ftp://x/")
        raise AssertionError("ftp accepted")
    except ValueError:
        pass


def main():
    global X, CERT, TLS_PORT
    tmp = tempfile.mkdtemp(prefix="xend-pyxen-")
    CERT, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", CERT],
                   check=True, stderr=subprocess.DEVNULL)
    X = Xend(conf=["listen = https:127.0.0.1:{port:tls} auth=pam cert=%s key=%s" % (CERT, key)], tmp=tmp)
    try:
        X.start()
        TLS_PORT = X.ports["tls"]
        run([v for k, v in globals().items() if k.startswith("test_")])
    finally:
        X.cleanup()


if __name__ == "__main__":
    main()
