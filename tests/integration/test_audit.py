#!/usr/bin/python3
"""The audit log (docs/security.md) against the real daemon: calls that change
state are written with who, from where, what and the result; reads are not;
no password and no session ref ever appears; the file is 0600, reopened on
SIGHUP after rotation, and `audit-log = none` writes nothing."""
import hashlib
import os
import signal
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, fails, new_vm, ok, run, wait_until  # noqa: E402

X = None
SECRET = "Wr0ng-Pa55word-never-logged"


def sid(ref):
    plain = ref[len("OpaqueRef:"):] if ref.startswith("OpaqueRef:") else ref
    return hashlib.sha256(plain.encode()).hexdigest()[:8]


def lines(path=None):
    with open(path or X.audit) as f:
        return f.read().splitlines()


def fields(line):
    ts, *rest = line.split(" ")
    d = {"time": ts}
    for kv in rest:
        k, _, v = kv.partition("=")
        assert k not in d, "key %s twice in %r" % (k, line)
        d[k] = v
    return d


def find(call, **want):
    """The audit lines for call whose fields include want."""
    out = []
    for line in lines():
        f = fields(line)
        if f.get("call") == call and all(f.get(k) == v for k, v in want.items()):
            out.append(f)
    return out


def test_calls_audited():
    p = X.proxy()
    s = X.login(p)
    vm = new_vm(p, s, "audit vm")
    ok(p.VM.set_name_description(s, vm, "described"))
    ok(p.VM.get_record(s, vm))
    ok(p.VM.get_all(s))
    ok(p.VM.start(s, vm, False))
    fails(p.VM.start(s, vm, False), "VM_BAD_POWER_STATE")
    task = ok(p.Async.VM.clean_shutdown(s, vm))
    wait_until(lambda: ok(p.task.get_status(s, task)) != "pending", "the shutdown task ends")
    # auth=none accepts any password: the one given must still never be written
    s2 = ok(p.session.login_with_password("root", SECRET))
    fails(p.VM.destroy("OpaqueRef:not-a-session", vm), "SESSION_INVALID")
    ok(p.session.logout(s))
    ok(p.session.logout(s2))

    f = find("session.login_with_password", result="Success", session=sid(s))
    assert len(f) == 1 and f[0]["user"] == X.username and f[0]["from"] == "127.0.0.1", f
    f = find("session.login_with_password", result="Success", session=sid(s2))
    assert len(f) == 1 and f[0]["user"] == "root", f
    f = find("VM.create", session=sid(s))
    assert len(f) == 1 and f[0]["user"] == X.username and f[0]["role"] == "pool-admin" \
        and f[0]["result"] == "Success", f
    assert find("VM.set_name_description", self=vm, result="Success"), lines()
    assert find("VM.start", vm=vm, result="Success"), lines()
    f = find("VM.start", vm=vm, result="Failure")
    assert len(f) == 1 and f[0]["code"] == "VM_BAD_POWER_STATE", f
    f = find("Async.VM.clean_shutdown", vm=vm)
    assert len(f) == 1 and f[0]["task"] == task and f[0]["result"] == "Success", f
    f = find("VM.destroy", result="Failure")
    assert len(f) == 1 and f[0]["code"] == "SESSION_INVALID" and f[0]["user"] == "-", f
    assert find("session.logout", session=sid(s), result="Success"), lines()
    # reads are not audited
    for read in ("VM.get_record", "VM.get_all", "task.get_status"):
        assert not find(read), (read, lines())
    # never a password, never a session ref (nor its random part)
    text = open(X.audit).read()
    assert SECRET not in text
    for ref in (s, s2):
        assert ref not in text and ref[len("OpaqueRef:"):] not in text
    assert "OpaqueRef:not-a-session" not in text


def test_unix_root():
    p = X.unix_proxy()
    s = ok(p.session.login_with_password("root", ""))
    vm = new_vm(p, s, "unix name")
    ok(p.VM.destroy(s, vm))
    f = find("VM.destroy", self=vm)
    assert len(f) == 1 and f[0]["from"] == "unix" and f[0]["uid"] == str(os.getuid()) \
        and f[0]["role"] == "pool-admin" and f[0]["session"] == sid(s), f


def test_file_mode_and_format():
    st = os.stat(X.audit)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    for line in lines():
        f = fields(line)
        assert f["time"].endswith("Z") and "T" in f["time"], line
        for k in ("user", "role", "from", "session", "call", "result"):
            assert k in f, (k, line)
        assert f["result"] in ("Success", "Failure"), line
        assert f["session"] == "-" or len(f["session"]) == 8, line


def test_reopen_on_sighup():
    rotated = X.audit + ".1"
    os.rename(X.audit, rotated)
    os.kill(X.proc.pid, signal.SIGHUP)
    wait_until(lambda: os.path.exists(X.audit), "SIGHUP reopens the audit log")
    p = X.proxy()
    s = X.login(p)
    vm = new_vm(p, s, "after rotation")
    assert find("VM.create", session=sid(s)), lines()
    assert vm not in open(rotated).read()
    assert stat.S_IMODE(os.stat(X.audit).st_mode) == 0o600


def test_none():
    with Xend(pam=False, conf=["audit-log = none"]) as x:
        p = x.proxy()
        s = x.login(p)
        new_vm(p, s, "unaudited")
        assert not os.path.exists(x.audit)
        log = open(x.log).read()
        assert "audit log: none" in log, log[-2000:]


def main():
    global X
    # auth=none on TCP too: the test is about the audit trail, not PAM (test_roles is)
    X = Xend(pam=False)
    with X:
        run([test_calls_audited, test_unix_root, test_file_mode_and_format, test_reopen_on_sighup, test_none])


if __name__ == "__main__":
    main()
