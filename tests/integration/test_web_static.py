#!/usr/bin/python3
"""The web console's file server (rpc/static.c) over real HTTP: it answers
only regular files inside web-dir, follows no link out of it, never blocks
on a FIFO, and keeps POST for XML-RPC."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, ok, run_with  # noqa: E402

X = None
WEB = None


def get(path, method="GET"):
    return X.http(method, path)


def test_files_and_types():
    for path, ctype, body in (("/", "text/html; charset=utf-8", b"<p>index</p>"),
                              ("/index.html", "text/html; charset=utf-8", b"<p>index</p>"),
                              ("/sub/", "text/html; charset=utf-8", b"sub index"),
                              ("/sub/x.css", "text/css; charset=utf-8", b"p{}"),
                              ("/blob.bin", "application/octet-stream", b"\x00\x01")):
        r, got = get(path)
        assert r.status == 200, (path, r.status)
        assert r.getheader("Content-Type") == ctype, (path, r.getheader("Content-Type"))
        assert got == body, (path, got)
        assert r.getheader("Cache-Control") == "no-cache"
        assert r.getheader("X-Frame-Options") == "DENY"


def test_head_has_no_body():
    r, got = get("/index.html", "HEAD")
    assert r.status == 200 and got == b"", (r.status, got)


def test_nothing_outside_or_unusual_is_served():
    for path in ("/link-out", "/dirlink/passwd", "/fifo", "/sub/../../secret", "/../secret",
                 "/.hidden", "/emptydir", "/missing"):
        r, got = get(path)
        assert r.status == 404 and got == b"not found\n", (path, r.status, got)


def test_xmlrpc_still_answers_post():
    p = X.proxy()
    ok(p.session.login_with_password(X.username, X.password))


def plan(body, session=None, name="vm.cfg"):
    headers = {"Content-Type": "text/plain"}
    if session:
        headers["X-Session"] = session
    r, data = X.http("POST", "/config/plan?name=" + name, body, headers)
    assert r.getheader("Content-Type") == "application/json", r.getheader("Content-Type")
    return r.status, json.loads(data)


def test_config_plan_needs_a_session():
    status, ans = plan('name = "a"\n')
    assert status == 403 and ans["error"][0] == "SESSION_INVALID", (status, ans)
    status, ans = plan('name = "a"\n', session="OpaqueRef:not-a-session")
    assert status == 403 and ans["error"][0] == "SESSION_INVALID", (status, ans)


def test_config_plan_answers_the_steps_or_the_line_at_fault():
    sid = ok(X.proxy().session.login_with_password(X.username, X.password))
    status, ans = plan('name = "web1"\nmemory = 256\nkernel = "/boot/k"\nvif = [ "bridge=xenbr0" ]\n', sid)
    assert status == 200, (status, ans)
    assert "steps" in ans, ans
    kinds = [st["kind"] for st in ans["steps"]]
    assert kinds == ["find_network", "create", "create"], kinds
    vm = ans["steps"][1]
    assert vm["method"] == "VM.create" and vm["bind"] == "vm", vm
    assert vm["record"]["name_label"] == "web1" and vm["record"]["memory_static_max"] == 268435456, vm
    vif = ans["steps"][2]
    assert vif["method"] == "VIF.create" and vif["refs"] == {"VM": "vm", "network": "net0"}, vif
    assert "VM" not in vif["record"], vif
    # a file outside the safe subset is never run: the error names file and line
    status, ans = plan('name = "x"\nmemory = os.system("reboot")\n', sid, name="../../etc/evil.cfg")
    assert status == 200 and ans["error"][0] == "VALUE_NOT_SUPPORTED", ans
    assert ans["error"][1].startswith("evil.cfg:2:"), ans
    # the format follows the name, else the content
    status, ans = plan('(vm (name sxp1) (memory 64) (image (linux (kernel /boot/k))))', sid, name="x.sxp")
    assert status == 200 and ans["steps"][-1]["record"]["name_label"] == "sxp1", ans


def test_console_log_is_the_vms_own_for_a_live_session():
    p = X.proxy()
    sid = ok(p.session.login_with_password(X.username, X.password))
    vm = ok(p.VM.create(sid, {"name_label": "log1", "memory_static_max": "67108864",
                              "memory_dynamic_max": "67108864", "memory_dynamic_min": "67108864",
                              "memory_static_min": "67108864", "VCPUs_max": "1", "VCPUs_at_startup": "1",
                              "PV_kernel": "/boot/k", "PV_args": "root=/dev/xvda1"}))

    def get(query, headers=None):
        r, body = X.http("GET", "/console/log?" + query, headers=headers)
        return r.status, r.getheader("Content-Type"), body
    status, ctype, body = get("vm=%s&session_id=%s" % (vm, sid))
    assert status == 200 and ctype == "text/plain; charset=utf-8" and body == b"", (status, ctype, body)
    ok(p.VM.start(sid, vm, False))
    status, _, body = get("vm=OpaqueRef:%s" % vm, {"X-Session": sid})
    assert status == 200 and b"XQ-GUEST-HELLO" in body and b"root=/dev/xvda1" in body, (status, body)
    status, ctype, body = get("vm=%s" % vm)
    assert status == 403 and json.loads(body)["error"][0] == "SESSION_INVALID", (status, body)
    status, _, body = get("vm=../../etc/passwd&session_id=%s" % sid)
    assert status == 404 and json.loads(body)["error"][:2] == ["HANDLE_INVALID", "VM"], (status, body)
    ok(p.VM.hard_shutdown(sid, vm))
    ok(p.VM.destroy(sid, vm))


def main():
    global X, WEB
    tmp = tempfile.mkdtemp(prefix="xend-web-")
    WEB = os.path.join(tmp, "web")
    os.makedirs(os.path.join(WEB, "sub"))
    os.makedirs(os.path.join(WEB, "emptydir"))
    for name, data in (("index.html", b"<p>index</p>"), ("sub/index.html", b"sub index"),
                       ("sub/x.css", b"p{}"), ("blob.bin", b"\x00\x01"), (".hidden", b"h")):
        with open(os.path.join(WEB, name), "wb") as f:
            f.write(data)
    with open(os.path.join(tmp, "secret"), "w") as f:
        f.write("outside\n")
    os.symlink(os.path.join(tmp, "secret"), os.path.join(WEB, "link-out"))
    os.symlink("/etc", os.path.join(WEB, "dirlink"))
    os.mkfifo(os.path.join(WEB, "fifo"))
    X = Xend(pam=False, tmp=tmp, conf=["web-dir = %s" % WEB])
    run_with(X, [v for k, v in sorted(globals().items()) if k.startswith("test_")])


if __name__ == "__main__":
    main()
