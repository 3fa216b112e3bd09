#!/usr/bin/env python3
"""Roles (RBAC), generated from the datamodel at run time: one PAM account per
XAPI role (mapped by user and by Unix group in xend.conf) logs in to the real
daemon, and every wire message is called under every role; the daemon must
deny exactly what the datamodel's role table denies, with XAPI's
RBAC_PERMISSION_DENIED [permission, message].  Also: an account no line maps
may not log in (unless role-default says so), root over the Unix socket is a
local superuser, and another local account comes in through a group socket
with its mapped role (SO_PEERCRED)."""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("XEND_SRCDIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(SRCDIR, "tools"))
import datamodel  # noqa: E402
from xendtest import PamUser, Xend, fails, ok, run  # noqa: E402

M = datamodel.Model(os.path.join(SRCDIR, "datamodel", "xenapi.json"))
ROLES = datamodel.ROLE_ORDER
BOGUS_REF = "00000000-0000-4000-8000-00000000dead"
X = None
USERS = {}          # role -> PamUser
GROUP = "xtr%d" % os.getpid()


def bogus(t):
    """A well-typed argument naming nothing: the call fails after the role check."""
    k = t.kind
    if k == "ref":
        return BOGUS_REF
    if k in ("string",):
        return "x"
    if k == "int":
        return "0"
    if k == "float":
        return 0.0
    if k == "bool":
        return False
    if k == "datetime":
        return xmlrpc.client.DateTime("19700101T00:00:00")
    if k == "enum":
        return M.enums[t.name][0]
    if k in ("record", "struct", "map"):
        return {}
    if k == "set":
        return []
    raise AssertionError("no bogus value for %s" % t)


def login(user):
    p = X.proxy()
    return p, ok(p.session.login_with_password(user.name, user.password))


def denial_text(role):
    return "No permission in user session. (Roles with this permission: %s)" % ", ".join(
        datamodel.roles_allowed(role))


def test_every_message_under_every_role():
    checked = 0
    denied = {}
    errors = []
    for role in ROLES:
        p, s = login(USERS[role])
        rec = ok(p.session.get_record(s, s))
        assert rec["rbac_permissions"][0] == role, rec["rbac_permissions"][:3]
        assert rec["is_local_superuser"] is False and rec["auth_user_name"] == USERS[role].name, rec
        for wire, c, msg in M.wire_methods():
            if not msg.session or wire == "session.logout":
                continue            # no session, no role check; logout is tried last
            args = [s] + [bogus(t) for _, t in msg.params]
            if wire == "event.from":
                args = [s, [], "", 0.0]
            if wire.endswith("event.next"):
                args = [login(USERS[role])[1]]   # never registered: answers at once
            r = getattr(p, wire)(*args)
            allowed = ROLES.index(role) <= ROLES.index(msg.role)
            ed = r.get("ErrorDescription", [])
            got_denied = r.get("Status") == "Failure" and ed[:1] == ["RBAC_PERMISSION_DENIED"]
            checked += 1
            if allowed and got_denied:
                errors.append("%s denied to %s (needs %s): %r" % (wire, role, msg.role, ed))
            elif not allowed:
                denied[role] = denied.get(role, 0) + 1
                want = ["RBAC_PERMISSION_DENIED", wire.replace("Async.", "").lower(), denial_text(msg.role)]
                if ed != want:
                    errors.append("%s as %s (needs %s): expected %r, got %r" % (wire, role, msg.role, want, r))
        # in the permission list exactly what the table allows
        perms = set(ok(p.session.get_rbac_permissions(s, s))[1:])
        want = {w.lower() for w, c, msg in M.wire_methods()
                if msg.session and not w.startswith("Async.") and ROLES.index(role) <= ROLES.index(msg.role)}
        if perms != want:
            errors.append("%s: rbac_permissions differ: extra %s, missing %s" % (
                role, sorted(perms - want)[:5], sorted(want - perms)[:5]))
        ok(p.session.logout(s))
        fails(p.VM.get_all(s), "SESSION_INVALID")
    assert not errors, "%d of %d checks wrong:\n%s" % (len(errors), checked, "\n".join(errors[:30]))
    # the table is not trivial: every role but pool-admin was denied something
    assert sorted(denied) == sorted(ROLES[1:]), denied
    print("  %d calls checked; denied as the table says: %s" % (checked, denied))


def test_some_rows_of_the_table():
    p, s = login(USERS["read-only"])
    fails(p.VM.create(s, {"name_label": "ro"}), "RBAC_PERMISSION_DENIED", "vm.create")
    ok(p.VM.get_all(s))
    p, s = login(USERS["vm-operator"])
    fails(p.VM.set_name_label(s, BOGUS_REF, "x"), "RBAC_PERMISSION_DENIED", "vm.set_name_label")
    fails(p.Async.VM.clone(s, BOGUS_REF, "x"), "RBAC_PERMISSION_DENIED", "vm.clone")
    fails(p.VM.start(s, BOGUS_REF, False), "HANDLE_INVALID")      # allowed: fails later
    p, s = login(USERS["vm-admin"])
    vm = ok(p.VM.create(s, {"name_label": "by-vm-admin", "memory_static_max": "268435456"}))
    fails(p.VM.set_memory_static_max(s, vm, "1"), "RBAC_PERMISSION_DENIED", "vm.set_memory_static_max")
    fails(p.host.disable(s, BOGUS_REF), "RBAC_PERMISSION_DENIED", "host.disable")
    p, s = login(USERS["vm-power-admin"])
    ok(p.VM.set_memory_static_max(s, vm, "536870912"))
    fails(p.VM.save(s, vm, "/tmp/x"), "RBAC_PERMISSION_DENIED", "vm.save")
    ok(p.VM.destroy(s, vm))


def test_group_mapping_and_unmapped_accounts():
    # the vm-operator account is mapped through its Unix group only
    assert not any(l.startswith("role-user = %s " % USERS["vm-operator"].name) for l in X.extra_conf)
    p, s = login(USERS["vm-operator"])
    assert ok(p.session.get_rbac_permissions(s, s))[0] == "vm-operator"
    # an authenticated account that no line maps may not log in
    r = X.proxy().session.login_with_password(UNMAPPED.name, UNMAPPED.password)
    fails(r, "SESSION_AUTHORIZATION_FAILED", UNMAPPED.name)
    # and a wrong password is still an authentication failure
    r = X.proxy().session.login_with_password(UNMAPPED.name, UNMAPPED.password + "x")
    assert r["ErrorDescription"] == ["SESSION_AUTHENTICATION_FAILED"], r


def test_role_default_lets_unmapped_accounts_in():
    with Xend(conf=["role-default = read-only"]) as y:
        p = y.proxy()
        s = ok(p.session.login_with_password(UNMAPPED.name, UNMAPPED.password))
        assert ok(p.session.get_rbac_permissions(s, s))[0] == "read-only"
        fails(p.VM.create(s, {}), "RBAC_PERMISSION_DENIED", "vm.create")


def test_root_over_the_unix_socket_is_local_superuser():
    p = X.unix_proxy()
    s = ok(p.session.login_with_password("", ""))
    rec = ok(p.session.get_record(s, s))
    assert rec["is_local_superuser"] is True and rec["auth_user_name"] == "root", rec
    assert rec["rbac_permissions"][0] == "pool-admin", rec["rbac_permissions"][:2]
    ok(p.debug.create(s, {}))       # pool-admin only


CLIENT = r"""
import http.client, socket, sys, xmlrpc.client
class T(xmlrpc.client.Transport):
    def make_connection(self, host):
        class C(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(sys.argv[1])
        return C("localhost")
p = xmlrpc.client.ServerProxy("http://localhost/", transport=T())
r = p.session.login_with_password("ignored", "")
if r["Status"] != "Success":
    print("FAILURE", r["ErrorDescription"]); sys.exit(0)
s = r["Value"]
rec = p.session.get_record(s, s)["Value"]
print("ROLE", rec["rbac_permissions"][0], rec["auth_user_name"], rec["is_local_superuser"])
print("CREATE", p.VM.create(s, {})["ErrorDescription"][:2])
"""


def as_user(user, sock):
    """Run CLIENT as user (the system's python: the test's own may live under /root)."""
    pw = pwd.getpwnam(user.name)
    return subprocess.run(["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--init-groups",
                           "/usr/bin/python3", "-c", CLIENT, sock], capture_output=True, text=True, timeout=60)


def test_local_account_through_a_group_socket():
    if not shutil.which("setpriv"):
        raise AssertionError("setpriv (util-linux) is needed to run a client as another user")
    r = as_user(USERS["vm-operator"], GROUP_SOCK)
    assert r.returncode == 0, r
    out = r.stdout
    assert "ROLE vm-operator %s False" % USERS["vm-operator"].name in out, out
    assert "RBAC_PERMISSION_DENIED" in out and "vm.create" in out, out
    # an account outside the group cannot even connect
    r = as_user(UNMAPPED, GROUP_SOCK)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    st = os.stat(GROUP_SOCK)
    assert oct(st.st_mode & 0o777) == "0o660", oct(st.st_mode)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: the role tests need root (they create PAM users and a Unix group)")
        print("0 passed, 0 failed")
        sys.exit(77)
    sockdir = tempfile.mkdtemp(prefix="xend-roles-")
    os.chmod(sockdir, 0o711)
    GROUP_SOCK = os.path.join(sockdir, "g", "xen-api.sock")
    users = []
    try:
        subprocess.run(["groupadd", GROUP], check=True)
        for role in ROLES:
            u = PamUser()
            users.append(u)
            USERS[role] = u
        UNMAPPED = PamUser()
        users.append(UNMAPPED)
        # each PamUser has its own (identical) service; the daemon uses the first's
        subprocess.run(["usermod", "-a", "-G", GROUP, USERS["vm-operator"].name], check=True)
        conf = ["role-user = %s %s" % (USERS[r].name, r) for r in ROLES if r != "vm-operator"]
        conf += ["role-group = %s vm-operator" % GROUP,
                 "listen = unix:%s group=%s" % (GROUP_SOCK, GROUP)]
        X = Xend(conf=conf)
        X.user.remove()             # the harness's own user is not needed
        X.user = USERS["pool-admin"]
        X.write_conf()
        X.start()
        run([test_every_message_under_every_role, test_some_rows_of_the_table,
             test_group_mapping_and_unmapped_accounts, test_role_default_lets_unmapped_accounts_in,
             test_root_over_the_unix_socket_is_local_superuser, test_local_account_through_a_group_socket])
    finally:
        if X:
            X.user = None
            X.cleanup()
        for u in users:
            u.remove()
        subprocess.run(["groupdel", GROUP], stderr=subprocess.DEVNULL)
        shutil.rmtree(sockdir, ignore_errors=True)
