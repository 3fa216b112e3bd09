#!/usr/bin/python3
"""Core daemon behaviour over real sockets with xmlrpc.client: sessions and
PAM, the result convention, every generic error with its exact parameters,
system.listMethods, the pool, the host and dom0."""
import os
import stat
import sys
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, ok, fails, run  # noqa: E402

SRCDIR = os.environ.get("XEND_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
X = None


def test_pam_login_and_logout():
    p = X.proxy()
    s = X.login(p)
    assert len(s) == 36
    assert ok(p.session.get_this_user(s, s)) == X.username
    host = ok(p.session.get_this_host(s, s))
    assert ok(p.host.get_record(s, host))["uuid"] == host
    assert isinstance(ok(p.session.get_last_active(s, s)), xmlrpc.client.DateTime)
    rec = ok(p.session.get_record(s, s))
    assert list(rec.keys()) == ["uuid", "this_host", "this_user", "last_active", "is_local_superuser",
                                "auth_user_name", "rbac_permissions"], rec
    # the role the harness maps its PAM user to, first, then its permissions (XAPI's fields)
    assert rec["is_local_superuser"] is False and rec["auth_user_name"] == X.username, rec
    assert rec["rbac_permissions"][0] == "pool-admin" and "vm.start" in rec["rbac_permissions"], rec
    ok(p.session.logout(s))
    fails(p.VM.get_all(s), "SESSION_INVALID", s)
    # the same connection may log in again
    s2 = X.login(p)
    ok(p.VM.get_all(s2))


def test_pam_wrong_password_and_unknown_user():
    p = X.proxy()
    r = p.session.login_with_password(X.username, X.password + "x")
    assert r == {"Status": "Failure", "ErrorDescription": ["SESSION_AUTHENTICATION_FAILED"]}, r
    r = p.session.login_with_password("no-such-user-xend", "x")
    assert r["ErrorDescription"] == ["SESSION_AUTHENTICATION_FAILED"], r


def test_password_never_logged():
    log = open(X.log).read() + open(X.log + ".stderr").read()
    assert X.password not in log
    assert X.password + "x" not in log


def test_unix_socket_is_root_only_and_unauthenticated():
    st = os.stat(X.unix)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == 0
    p = X.unix_proxy()
    s = ok(p.session.login_with_password("anyone", "anything"))
    ok(p.host.get_all(s))


def test_session_invalid():
    p = X.proxy()
    fails(p.VM.get_all("not-a-session"), "SESSION_INVALID", "not-a-session")
    fails(p.host.get_all(""), "SESSION_INVALID", "")


def test_session_private_to_owner():
    p = X.proxy()
    a, b = X.login(p), X.login(p)
    fails(p.session.get_record(a, b), "PERMISSION_DENIED")
    ok(p.session.get_record(b, b))


def test_method_unknown():
    p = X.proxy()
    s = X.login(p)
    fails(p.VM.frobnicate(s), "MESSAGE_METHOD_UNKNOWN", "VM.frobnicate")
    fails(p.nosuchclass.get_all(s), "MESSAGE_METHOD_UNKNOWN", "nosuchclass.get_all")
    # getters have no Async form
    fails(getattr(p, "Async").VM.get_name_label(s, "x"), "MESSAGE_METHOD_UNKNOWN", "Async.VM.get_name_label")


def test_parameter_count_mismatch():
    p = X.proxy()
    s = X.login(p)
    fails(p.VM.get_all(s, "extra"), "MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_all", "1", "2")
    fails(p.VM.start(s), "MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3", "1")
    fails(p.session.login_with_password("a"), "MESSAGE_PARAMETER_COUNT_MISMATCH",
          "session.login_with_password", "2", "1")
    fails(getattr(p, "Async").VM.start(s), "MESSAGE_PARAMETER_COUNT_MISMATCH", "Async.VM.start", "3", "1")


def test_handle_invalid():
    p = X.proxy()
    s = X.login(p)
    fails(p.VM.get_record(s, "bogus"), "HANDLE_INVALID", "VM", "bogus")
    fails(p.network.get_name_label(s, "bogus"), "HANDLE_INVALID", "network", "bogus")
    fails(p.VM.start(s, "bogus", False), "HANDLE_INVALID", "VM", "bogus")
    fails(p.VM.get_by_uuid(s, "00000000-1111-2222-3333-444444444444"), "HANDLE_INVALID", "VM",
          "00000000-1111-2222-3333-444444444444")


def test_field_type_error():
    p = X.proxy()
    s = X.login(p)
    vm = ok(p.VM.create(s, {"name_label": "typed"}))
    fails(p.VM.set_memory_static_max(s, vm, "lots"), "FIELD_TYPE_ERROR", "value")
    fails(p.VM.set_name_label(s, vm, ["a list"]), "FIELD_TYPE_ERROR", "value")
    fails(p.VM.create(s, {"name_label": "x", "VCPUs_max": "many"}), "FIELD_TYPE_ERROR", "VCPUs_max")
    fails(p.VM.set_actions_after_crash(s, vm, "explode"), "VALUE_NOT_SUPPORTED", "value", "explode")
    # ints are accepted as strings and as native ints, and always returned as strings
    ok(p.VM.set_memory_static_max(s, vm, "268435456"))
    assert ok(p.VM.get_memory_static_max(s, vm)) == "268435456"
    ok(p.VM.set_VCPUs_max(s, vm, 2))
    assert ok(p.VM.get_VCPUs_max(s, vm)) == "2"
    ok(p.VM.destroy(s, vm))


def test_map_and_set_messages():
    p = X.proxy()
    s = X.login(p)
    vm = ok(p.VM.create(s, {"name_label": "maps", "other_config": {"a": "1"}}))
    ok(p.VM.add_to_other_config(s, vm, "b", "2"))
    assert ok(p.VM.get_other_config(s, vm)) == {"a": "1", "b": "2"}
    fails(p.VM.add_to_other_config(s, vm, "b", "3"), "MAP_DUPLICATE_KEY", "b", "2", "3")
    ok(p.VM.remove_from_other_config(s, vm, "a"))
    ok(p.VM.remove_from_other_config(s, vm, "absent"))
    assert ok(p.VM.get_other_config(s, vm)) == {"b": "2"}
    ok(p.VM.set_other_config(s, vm, {}))
    assert ok(p.VM.get_other_config(s, vm)) == {}
    ok(p.VM.destroy(s, vm))


def test_create_get_by_name_label_destroy():
    p = X.proxy()
    s = X.login(p)
    vm = ok(p.VM.create(s, {"name_label": "lbl-test", "memory_static_max": "1073741824"}))
    assert ok(p.VM.get_by_uuid(s, vm)) == vm
    assert ok(p.VM.get_by_name_label(s, "lbl-test")) == [vm]
    rec = ok(p.VM.get_record(s, vm))
    assert rec["power_state"] == "Halted" and rec["memory_static_max"] == "1073741824"
    assert rec["resident_on"] == "" and rec["suspend_VDI"] == ""
    assert vm in ok(p.VM.get_all(s))
    ok(p.VM.destroy(s, vm))
    fails(p.VM.get_record(s, vm), "HANDLE_INVALID", "VM", vm)
    assert ok(p.VM.get_by_name_label(s, "lbl-test")) == []


def test_list_methods():
    p = X.proxy()
    # a bare array (no Status struct) of the synchronous names, as xend's
    # introspection and XAPI answer it
    methods = p.system.listMethods()
    assert isinstance(methods, list), methods
    manifest = [l.split("(")[0] for l in open(os.path.join(SRCDIR, "api", "methods.txt"))
                if l.strip() and not l.startswith("#")]
    sync_manifest = [m for m in manifest if not m.startswith("Async.")]
    assert sorted(methods) == sorted(sync_manifest), set(methods) ^ set(sync_manifest)
    assert len(methods) >= 586
    for m in ("VM.start", "session.login_with_password", "pool.get_all", "event.from",
              "VM.get_all_records", "task.destroy"):
        assert m in methods, m
    s = X.login(p)
    # a session argument is tolerated (XenAPI.py sends one to every call)
    assert sorted(p.system.listMethods(s)) == sorted(methods)
    assert p.system.listMethods(s, "x")["ErrorDescription"][0] == "MESSAGE_PARAMETER_COUNT_MISMATCH"
    # host.list_methods keeps xend's answer: every name, Async ones too
    assert sorted(ok(p.host.list_methods(s))) == sorted(manifest)


def test_pool_host_dom0():
    p = X.proxy()
    s = X.login(p)
    pools = ok(p.pool.get_all(s))
    assert len(pools) == 1
    host = ok(p.pool.get_master(s, pools[0]))
    recs = ok(p.pool.get_all_records(s))
    assert recs[pools[0]]["master"] == host
    assert ok(p.host.get_API_version_major(s, host)) == "1"
    assert ok(p.host.get_API_version_minor(s, host)) == "0"
    h = ok(p.host.get_record(s, host))
    assert len(h["host_CPUs"]) >= 1 and h["metrics"]
    m = ok(p.host_metrics.get_record(s, h["metrics"]))
    assert int(m["memory_total"]) > int(m["memory_free"]) > 0
    cpu = ok(p.host_cpu.get_record(s, h["host_CPUs"][0]))
    assert cpu["host"] == host
    dom0 = ok(p.VM.get_by_uuid(s, "00000000-0000-0000-0000-000000000000"))
    d = ok(p.VM.get_record(s, dom0))
    assert d["power_state"] == "Running" and d["domid"] == "0" and d["is_control_domain"] is True
    assert d["resident_on"] == host
    assert dom0 in h["resident_VMs"]
    assert len(h["PIFs"]) >= 1
    pif = ok(p.PIF.get_record(s, h["PIFs"][0]))
    assert pif["host"] == host and pif["network"]
    assert h["PIFs"][0] in ok(p.network.get_PIFs(s, pif["network"]))


def test_relationships_follow_refs():
    p = X.proxy()
    s = X.login(p)
    vm = ok(p.VM.create(s, {"name_label": "rel"}))
    net = ok(p.network.create(s, {"name_label": "relnet"}))
    vif = ok(p.VIF.create(s, {"VM": vm, "network": net, "device": "0"}))
    assert ok(p.VM.get_VIFs(s, vm)) == [vif]
    assert ok(p.network.get_VIFs(s, net)) == [vif]
    fails(p.VIF.create(s, {"VM": "bogus", "network": net}), "HANDLE_INVALID", "VM", "bogus")
    ok(p.VIF.destroy(s, vif))
    assert ok(p.VM.get_VIFs(s, vm)) == []
    ok(p.network.destroy(s, net))
    ok(p.VM.destroy(s, vm))


def test_status_first_and_ints_as_strings_on_the_wire():
    import http.client
    import socket
    body = (b'<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName>'
            b'<params><param><value>u</value></param><param><value>p</value></param></params></methodCall>')

    class C(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(X.unix)
    c = C("localhost")
    c.request("POST", "/RPC2", body, {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    data = r.read().decode()
    assert r.status == 200 and r.getheader("Content-Type") == "text/xml", r.getheaders()
    assert "\n" not in data.split("?>", 1)[1] and "> <" not in data, data
    assert data.index("<name>Status</name>") < data.index("<name>Value</name>")
    sess = data.split("<name>Value</name><value><string>")[1].split("<")[0]
    body2 = ('<?xml version="1.0"?><methodCall><methodName>host.get_all_records</methodName><params>'
             '<param><value><string>%s</string></value></param></params></methodCall>' % sess).encode()
    c.request("POST", "/", body2)          # same keep-alive connection
    r = c.getresponse()
    data = r.read().decode()
    assert "<int>" not in data and "<i4>" not in data and "<i8>" not in data and "<nil/>" not in data
    assert "<name>API_version_major</name><value><string>1</string></value>" in data


def main():
    global X
    X = Xend()
    try:
        X.start()
        run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
    finally:
        stopped_ok = True
        try:
            X.stop()
        except RuntimeError as e:
            stopped_ok = False
            print("FAIL clean shutdown: %s" % e)
        X.cleanup()
        if not stopped_ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
