#!/usr/bin/python3
"""JSON-RPC on POST /jsonrpc against the real daemon (docs/jsonrpc.md):
1.0 and 2.0 envelopes, types, XenAPI errors in both shapes, the exact
Content-Type, CORS, malformed and oversized requests, refs in both forms
(OpaqueRef on /jsonrpc and /xmlrpc, uuids on / and /RPC2), one session for
both codecs, logins with 2, 3 and 4 parameters."""
import json
import os
import sys
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, fails, ok, run, wait_until  # noqa: E402

X = None
LIMIT = 1 << 20


def post(body, path="/jsonrpc", headers=None, method="POST"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    r, data = X.http(method, path, body, headers if headers is not None else {"Content-Type": "application/json"})
    hdrs = dict((k.lower(), v) for k, v in r.getheaders())
    return r.status, hdrs, data


def call2(method, *params, id=0):
    status, h, data = post({"jsonrpc": "2.0", "method": method, "params": list(params), "id": id})
    assert status == 200 and h["content-type"] == "application/json", (status, h, data[:200])
    r = json.loads(data)
    assert r["jsonrpc"] == "2.0" and r["id"] == id, r
    return r


def result2(method, *params):
    r = call2(method, *params)
    assert "error" not in r, r
    return r["result"]


def login():
    return result2("session.login_with_password", X.username, X.password)


def xml_proxy(path):
    return xmlrpc.client.ServerProxy("http://127.0.0.1:%d%s" % (X.port, path))


def test_v2_and_content_type():
    s = login()
    assert s.startswith("OpaqueRef:"), s
    vms = result2("VM.get_all", s)
    assert vms and all(v.startswith("OpaqueRef:") for v in vms), vms
    status, h, data = post({"jsonrpc": "2.0", "method": "VM.get_all", "params": [s], "id": 3})
    # exactly application/json: Xen Orchestra's client falls back otherwise
    assert h["content-type"] == "application/json", h
    assert h["access-control-allow-origin"] == "*", h
    assert json.loads(data)["id"] == 3


def test_v1_envelope():
    s = login()
    status, h, data = post({"method": "VM.get_all", "params": [s], "id": "str-id"})
    r = json.loads(data)
    assert status == 200 and "jsonrpc" not in r and r["error"] is None and r["id"] == "str-id", r
    assert isinstance(r["result"], list)
    status, h, data = post({"method": "VM.get_record", "params": [s, "nope"], "id": 9})
    r = json.loads(data)
    assert r["result"] is None and r["error"] == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"] and r["id"] == 9, r


def test_v2_errors():
    s = login()
    r = call2("VM.get_record", s, "nope", id=5)
    assert r["error"] == {"code": 1, "message": "HANDLE_INVALID", "data": ["VM", "OpaqueRef:nope"]}, r
    assert "result" not in r
    r = call2("VM.no_such_method", s)
    assert r["error"]["message"] == "MESSAGE_METHOD_UNKNOWN", r
    r = call2("VM.get_all", "OpaqueRef:00000000-dead-beef-0000-000000000000")
    assert r["error"]["message"] == "SESSION_INVALID", r
    r = call2("VM.get_all")
    assert r["error"]["message"] == "MESSAGE_PARAMETER_COUNT_MISMATCH", r
    assert r["error"]["data"] == ["VM.get_all", "1", "0"], r


def test_types():
    s = login()
    vm = result2("VM.get_all", s)[0]
    rec = result2("VM.get_record", s, vm)
    # ints are JSON numbers, bools booleans, refs OpaqueRef, datetimes compact with Z
    assert isinstance(rec["memory_static_max"], int) and not isinstance(rec["memory_static_max"], bool), rec
    assert isinstance(rec["is_a_template"], bool)
    assert rec["resident_on"].startswith("OpaqueRef:")
    assert rec["suspend_VDI"] == "OpaqueRef:NULL"
    assert isinstance(rec["VCPUs_params"], dict) and isinstance(rec["VBDs"], list)
    assert result2("VM.get_VCPUs_max", s, vm) == rec["VCPUs_max"]
    m = result2("VM.get_metrics", s, vm)
    t = result2("VM_metrics.get_last_updated", s, m)
    assert len(t) == 18 and t[8] == "T" and t.endswith("Z"), t
    # ints accepted as numbers or strings, floats as ints; a void result is ""
    new = result2("VM.create", s, vm_record("json-types"))
    assert new.startswith("OpaqueRef:")
    assert result2("VM.set_VCPUs_max", s, new, 3) == ""
    assert result2("VM.get_VCPUs_max", s, new) == 3
    assert result2("VM.set_VCPUs_max", s, new, "2") == ""
    assert result2("VM.get_VCPUs_max", s, new) == 2
    r = call2("VM.set_VCPUs_max", s, new, "two")
    assert r["error"]["message"] == "FIELD_TYPE_ERROR", r
    r = call2("VM.set_VCPUs_max", s, new, True)
    assert r["error"]["message"] == "FIELD_TYPE_ERROR", r
    # a ref given either way names the same object
    plain = new[len("OpaqueRef:"):]
    assert result2("VM.get_name_label", s, plain) == "json-types"
    assert result2("VM.destroy", s, new) == ""
    # get_all_records: keys are OpaqueRefs, records complete
    recs = result2("VM.get_all_records", s)
    assert all(k.startswith("OpaqueRef:") for k in recs) and vm in recs
    assert recs[vm]["uuid"] == vm[len("OpaqueRef:"):]


def vm_record(label):
    return {"name_label": label, "name_description": "", "user_version": 1, "is_a_template": False,
            "auto_power_on": False, "memory_static_max": 268435456, "memory_dynamic_max": 268435456,
            "memory_dynamic_min": 268435456, "memory_static_min": 134217728, "VCPUs_params": {},
            "VCPUs_max": 1, "VCPUs_at_startup": 1, "actions_after_shutdown": "destroy",
            "actions_after_reboot": "restart", "actions_after_crash": "restart", "PV_bootloader": "",
            "PV_kernel": "", "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "",
            "PV_legacy_args": "", "HVM_boot_policy": "", "HVM_boot_params": {}, "platform": {},
            "PCI_bus": "", "other_config": {}, "recommendations": "", "tags": []}


def test_params_object_and_absent():
    r = call2("system.listMethods")          # 2.0: params may be absent
    assert "VM.get_all_records" in r["result"] and "Async.VM.start" not in r["result"], r["result"][:5]
    status, h, data = post({"jsonrpc": "2.0", "method": "system.listMethods", "params": None, "id": 1})
    assert "VM.get_all" in json.loads(data)["result"]


def test_sessions_cross_codecs():
    s = login()
    plain = s[len("OpaqueRef:"):]
    # a JSON-RPC session works over XML-RPC, in either form, and back
    p = xml_proxy("/")
    assert ok(p.VM.get_all(s)) == ok(p.VM.get_all(plain))
    assert all(not v.startswith("OpaqueRef:") for v in ok(p.VM.get_all(s)))   # uuids on /
    xs = ok(p.session.login_with_password(X.username, X.password))
    assert not xs.startswith("OpaqueRef:")
    assert result2("VM.get_all", xs) == result2("VM.get_all", s)


def test_xmlrpc_path_uses_opaque_refs():
    p = xml_proxy("/xmlrpc")                 # Xen Orchestra's XML-RPC path
    s = ok(p.session.login_with_password(X.username, X.password))
    assert s.startswith("OpaqueRef:"), s
    vms = ok(p.VM.get_all(s))
    assert all(v.startswith("OpaqueRef:") for v in vms), vms
    recs = ok(p.VM.get_all_records(s))
    assert sorted(recs) == sorted(vms)
    rec = ok(p.VM.get_record(s, vms[0]))
    assert rec["resident_on"].startswith("OpaqueRef:") and rec["suspend_VDI"] == "OpaqueRef:NULL", rec
    task = ok(p.Async.host.get_all(s))
    assert task.startswith("OpaqueRef:"), task
    for path in ("/", "/RPC2"):
        q = xml_proxy(path)
        assert all(not v.startswith("OpaqueRef:") for v in ok(q.VM.get_all(s))), path


def wait_task(call, s, task):
    """The record of task once it is no longer pending (call: a method caller)."""
    rec = {}

    def done():
        rec.update(call("task.get_record", s, task))
        return rec["status"] != "pending"
    wait_until(done, "task %s to finish" % task)
    return rec


def test_refs_in_errors_and_task_results():
    """Error parameters that are refs and a task's ref result come in the
    form of the path's refs, like every other ref: OpaqueRef on /jsonrpc and
    /xmlrpc, the bare uuid on / (byte for byte what xend sent)."""
    xp, plain_p = xml_proxy("/xmlrpc"), xml_proxy("/")
    rpc = {"jsonrpc": lambda m, *a: result2(m, *a),
           "xmlrpc": lambda m, *a: ok(getattr(xp, m)(*a))}
    s = login()
    vm = result2("VM.create", s, vm_record("opaque-errors"))
    uuid = vm[len("OpaqueRef:"):]
    result2("VM.start", s, vm, False)
    # HANDLE_INVALID's ref: prefixed once, whichever form was sent
    for sent in ("no-such-vm", "OpaqueRef:no-such-vm"):
        assert call2("VM.get_record", s, sent)["error"]["data"] == ["VM", "OpaqueRef:no-such-vm"]
        fails(xp.VM.get_record(s, sent), "HANDLE_INVALID", "VM", "OpaqueRef:no-such-vm")
    fails(plain_p.VM.get_record(s, "no-such-vm"), "HANDLE_INVALID", "VM", "no-such-vm")
    # VM_BAD_POWER_STATE's VM, given in either form
    for ref in (vm, uuid):
        assert call2("VM.start", s, ref, False)["error"]["data"] == [vm, "Halted", "Running"]
        fails(xp.VM.start(s, ref, False), "VM_BAD_POWER_STATE", vm, "Halted", "Running")
        fails(plain_p.VM.start(s, ref, False), "VM_BAD_POWER_STATE", uuid, "Halted", "Running")
    # a failed task's error_info, by its record and by its getter
    for kind, call in rpc.items():
        task = call("Async.VM.start", s, vm, False)
        rec = wait_task(call, s, task)
        assert rec["error_info"] == ["VM_BAD_POWER_STATE", vm, "Halted", "Running"], (kind, rec)
        assert call("task.get_error_info", s, task) == rec["error_info"], kind
    task = ok(plain_p.Async.VM.start(s, uuid, False))
    assert wait_task(lambda m, *a: ok(getattr(plain_p, m)(*a)), s, task)["error_info"][1] == uuid
    result2("VM.hard_shutdown", s, vm)
    # a task's ref result (its type names the class): record, getter, event snapshot
    for kind, call in rpc.items():
        task = call("Async.VM.clone", s, vm, "clone-" + kind)
        rec = wait_task(call, s, task)
        assert rec["status"] == "success" and rec["type"] == "VM", (kind, rec)
        clone = rec["result"]
        assert clone.startswith("OpaqueRef:") and call("VM.get_name_label", s, clone) == "clone-" + kind, rec
        assert call("task.get_result", s, task) == clone, kind
        ev = call("event.from", s, ["task/" + task], "", 0.0)["events"]
        snaps = [e["snapshot"] for e in ev if e["ref"] == task and "snapshot" in e]
        assert snaps and snaps[-1]["result"] == clone, (kind, ev)
    task = ok(plain_p.Async.VM.clone(s, uuid, "clone-plain"))
    rec = wait_task(lambda m, *a: ok(getattr(plain_p, m)(*a)), s, task)
    assert not rec["result"].startswith("OpaqueRef:") and ok(plain_p.task.get_result(s, task)) == rec["result"]


def test_login_arities():
    for extra in ([], ["1.1"], ["1.1", "my-originator"]):
        r = call2("session.login_with_password", X.username, X.password, *extra)
        assert r.get("result", "").startswith("OpaqueRef:"), (extra, r)
        p = xml_proxy("/")
        ok(p.session.login_with_password(X.username, X.password, *extra))
    r = call2("session.login_with_password", X.username, X.password, "1.1", "o", "x")
    assert r["error"]["message"] == "MESSAGE_PARAMETER_COUNT_MISMATCH", r
    r = call2("session.login_with_password", X.username, X.password, 1)
    assert r["error"]["message"] == "MESSAGE_PARAMETER_COUNT_MISMATCH", r
    r = call2("session.login_with_password", X.username, "wrong-password")
    assert r["error"]["message"] == "SESSION_AUTHENTICATION_FAILED", r


def test_xapi_force_flag_of_start_and_resume_is_tolerated():
    # xo-server calls VM.start(session, vm, start_paused, force): XAPI's
    # signature; xend's has no force and ignores it (a bool only)
    s = login()
    vm = result2("VM.create", s, {"name_label": "force-flag", "memory_static_max": 67108864,
                                  "memory_dynamic_max": 67108864, "memory_dynamic_min": 67108864,
                                  "memory_static_min": 67108864, "VCPUs_max": 1, "VCPUs_at_startup": 1,
                                  "PV_kernel": "/boot/k"})
    assert result2("VM.start", s, vm, False, True) == ""
    assert result2("VM.get_power_state", s, vm) == "Running"
    result2("VM.suspend", s, vm)
    assert result2("VM.resume", s, vm, True, False) == ""
    assert result2("VM.get_power_state", s, vm) == "Paused"
    for extra in (["yes"], [True, True]):
        r = call2("VM.start", s, vm, False, *extra)
        assert r["error"]["message"] == "MESSAGE_PARAMETER_COUNT_MISMATCH", (extra, r)
    p = xml_proxy("/")
    sx = ok(p.session.login_with_password(X.username, X.password))
    ok(p.VM.hard_shutdown(sx, vm))
    ok(p.VM.start(sx, vm, False, False))
    ok(p.VM.hard_shutdown(sx, vm))
    ok(p.VM.destroy(sx, vm))


def test_malformed():
    cases = [('{"jsonrpc":"2.0","method":"x"', -32700, "JSON:"),
             ('[1,2]', -32600, "is an object"),
             ('{"jsonrpc":"2.0","method":"x","params":[],"id":null}', -32600, '"id"'),
             ('{"jsonrpc":"3.0","method":"x","params":[],"id":1}', -32600, '"jsonrpc"'),
             ('{"method":"x","id":1}', -32600, "must be an array"),
             (b'{"jsonrpc":"2.0","method":"x\xff","params":[],"id":1}', -32700, "UTF-8"),
             ('{"jsonrpc":"2.0","method":"x","params":[' + "[" * 100 + "]" * 100 + '],"id":1}', -32700, "deeply"),
             ('', -32700, "empty")]
    for body, code, why in cases:
        status, h, data = post(body)
        assert status == 200 and h["content-type"] == "application/json", (body, status, h)
        r = json.loads(data)
        assert r["error"]["code"] == code and why in r["error"]["data"][0], (body, r)
    status, h, data = post("[" + " " * (LIMIT + 10) + "]")
    r = json.loads(data)
    assert status == 413 and r["error"]["code"] == -32600 and "exceeds" in r["error"]["data"][0], (status, r)
    # still alive
    assert login().startswith("OpaqueRef:")


def test_cors_preflight():
    for path in ("/jsonrpc", "/", "/json"):
        status, h, data = post("", path, {"Origin": "http://example", "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "content-type"}, method="OPTIONS")
        assert status == 200 and data == b"", (path, status, data)
        assert h["access-control-allow-origin"] == "*", h
        assert h["access-control-allow-headers"] == "content-type, X-Requested-With", h
        assert "POST" in h["access-control-allow-methods"], h


def test_xml_paths_stay_xml():
    # every POST path but /jsonrpc is XML-RPC, whatever the Content-Type says
    for path in ("/", "/RPC2", "/json", "/xmlrpc", "/anything"):
        status, h, data = post(b"<methodCall><methodName>system.listMethods</methodName></methodCall>", path,
                               {"Content-Type": "application/json"})
        assert status == 200 and h["content-type"] == "text/xml", (path, h)
        assert data.startswith(b"<?xml") and b"<string>VM.get_all</string>" in data, (path, data[:100])
    # and a listMethods over XML-RPC is the bare array, no Status struct
    assert b"Status" not in data


def main():
    global X
    X = Xend(conf=["max-request-bytes = %d" % LIMIT])
    with X:
        run([test_v2_and_content_type, test_v1_envelope, test_v2_errors, test_types,
             test_params_object_and_absent, test_sessions_cross_codecs, test_xmlrpc_path_uses_opaque_refs,
             test_refs_in_errors_and_task_results,
             test_login_arities, test_malformed, test_cors_preflight, test_xml_paths_stay_xml])


if __name__ == "__main__":
    main()
