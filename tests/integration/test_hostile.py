#!/usr/bin/python3
"""Hostile input over real HTTP: external entities, entity expansion,
deep nesting, oversized bodies, garbage, wrong HTTP methods.  Each gets a
clean XML-RPC fault (or HTTP error), memory stays bounded, the daemon
keeps answering."""
import os
import socket
import sys
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, ok, run_with  # noqa: E402

X = None
LIMIT = 1 << 20     # max-request-bytes configured below


def post(body, path="/", headers=None):
    r, data = X.http("POST", path, body, headers or {"Content-Type": "text/xml"})
    return r.status, r.getheader("Content-Type"), data


def rss_kib():
    for line in open("/proc/%d/status" % X.proc.pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def assert_fault(status, ctype, data, code=None):
    assert status in (200, 413), status
    assert ctype == "text/xml", ctype
    text = data.decode()
    assert "<fault>" in text, text[:300]
    if code is not None:
        assert "<int>%d</int>" % code in text, text[:300]


def assert_alive():
    p = X.proxy()
    s = X.login(p)
    ok(p.host.get_all(s))


def test_external_entity():
    body = ('<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<methodCall><methodName>&x;</methodName><params/></methodCall>')
    status, ctype, data = post(body)
    assert_fault(status, ctype, data)
    assert b"root:" not in data
    assert_alive()


def test_billion_laughs():
    ents = '<!ENTITY a0 "lol">' + "".join('<!ENTITY a%d "%s">' % (i, ("&a%d;" % (i - 1)) * 10) for i in range(1, 10))
    body = ('<?xml version="1.0"?><!DOCTYPE m [%s]><methodCall><methodName>x</methodName><params>'
            '<param><value><string>&a9;</string></value></param></params></methodCall>' % ents)
    before = rss_kib()
    for _ in range(20):
        status, ctype, data = post(body)
        assert_fault(status, ctype, data)
    assert rss_kib() - before < 64 * 1024, "RSS grew by %d KiB" % (rss_kib() - before)
    assert_alive()


def test_deep_nesting():
    depth = 10000
    body = ('<?xml version="1.0"?><methodCall><methodName>VM.get_all</methodName><params><param>'
            + "<value><array><data>" * depth + "</data></array></value>" * depth
            + '</param></params></methodCall>')
    status, ctype, data = post(body)
    assert_fault(status, ctype, data)
    raw = "<a>" * 100000 + "</a>" * 100000
    status, ctype, data = post(raw)
    assert_fault(status, ctype, data)
    assert_alive()


def test_body_over_the_limit():
    before = rss_kib()
    big = '<?xml version="1.0"?><methodCall><methodName>x</methodName><params><param><value><string>' \
          + "A" * (LIMIT + 10) + "</string></value></param></params></methodCall>"
    for _ in range(5):
        status, ctype, data = post(big)
        assert status == 413, status
        assert_fault(status, ctype, data)
    assert rss_kib() - before < 32 * 1024, "RSS grew by %d KiB" % (rss_kib() - before)
    assert_alive()


def test_garbage_and_truncated():
    for body in [b"", b"not xml at all", b"<methodCall><methodName>VM.get_all",
                 b"\xff\xfe\x00<\x00m", b'<?xml version="1.0"?><methodResponse/>',
                 b"<methodCall><methodName>x</methodName><params><param><value><bogus/></value>"
                 b"</param></params></methodCall>",
                 b"<methodCall><methodName>x</methodName><params><param><value><int>99999999999999999999999</int>"
                 b"</value></param></params></methodCall>"]:
        status, ctype, data = post(body)
        assert_fault(status, ctype, data)
    assert_alive()


def test_json_probe_gets_json():
    # Xen Orchestra's client first POSTs JSON-RPC to <path>/jsonrpc and keeps
    # JSON-RPC only when the reply's type is exactly application/json
    status, ctype, data = post('{"jsonrpc":"2.0","method":"system.listMethods","id":1}', "/jsonrpc",
                               {"Content-Type": "application/json"})
    assert status == 200 and ctype == "application/json", (status, ctype)
    assert b'"VM.get_all_records"' in data, data[:200]


def test_get_serves_only_the_console_and_other_methods_are_refused():
    def req(method, path):
        return X.http(method, path, timeout=10)
    r, body = req("GET", "/")
    assert r.status == 200 and r.getheader("Content-Type") == "text/html; charset=utf-8", r.status
    assert b"<title>xend</title>" in body
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    # nothing outside the console's directory, no hidden file, no link out of it
    for path in ("/../xend.conf", "/%2e%2e/xend.conf", "/.hidden", "/nonexistent.js", "/app.js/..",
                 "//etc/passwd", "/" + "a/" * 200):
        r, body = req("GET", path)
        assert r.status == 404 and body == b"not found\n", (path, r.status, body)
    r, _ = req("PUT", "/")
    assert r.status == 405 and r.getheader("Allow") == "POST", r.status


def test_attributes_are_refused_before_parsing():
    # XML-RPC has no attributes; libxml2 compares an element's attributes
    # with each other in quadratic time, so they are refused unparsed
    attrs = " ".join("a%d='x'" % i for i in range(40000))
    body = "<?xml version='1.0'?><methodCall><methodName %s>host.get_all</methodName><params/></methodCall>" % attrs
    assert len(body) < LIMIT
    t0 = time.process_time()
    status, ctype, data = post(body)
    assert_fault(status, ctype, data, -32700)
    assert b"attributes" in data, data[:300]
    for small in ('<methodCall><methodName>x</methodName><params><param><value a="1">'
                  '<string>s</string></value></param></params></methodCall>',
                  '<methodCall xmlns:x="urn:x"><methodName>x</methodName></methodCall>'):
        status, ctype, data = post(small)
        assert_fault(status, ctype, data, -32700)
        assert b"attributes" in data, data[:300]
    # what looks like an attribute inside a comment, CDATA, a PI or text is not one
    p = X.proxy()
    s = X.login(p)
    body = ("<?xml version='1.0' encoding='UTF-8'?><!-- <a b='c'> --><methodCall>"
            "<methodName>host.get_all</methodName><params><param><value><string>%s</string>"
            "</value></param></params></methodCall>" % s)
    status, ctype, data = post(body)
    assert status == 200 and b"Success" in data, data[:300]
    assert_alive()


def test_slow_and_idle_clients_do_not_block():
    socks = []
    for _ in range(50):   # half-sent requests occupy no thread
        s = socket.create_connection(("127.0.0.1", X.port))
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<methodCall>")
        socks.append(s)
    t0 = time.time()
    assert_alive()
    assert time.time() - t0 < 5
    for s in socks:
        s.close()


def main():
    global X
    X = Xend(pam=False, conf=["max-request-bytes = %d" % LIMIT])
    run_with(X, [v for k, v in sorted(globals().items()) if k.startswith("test_")])


if __name__ == "__main__":
    main()
