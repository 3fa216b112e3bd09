#!/usr/bin/python3
"""HTTPS: a TLS listener with a certificate the test makes; clients that
verify it log in through PAM; plain HTTP to it and old protocol versions
are refused; an unverified client is refused by the client side."""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, ok, fails, run  # noqa: E402

X = None
CERT = KEY = None
PORT = None


def ctx(verify=True):
    c = ssl.create_default_context(cafile=CERT if verify else None)
    if not verify:
        c.check_hostname = False
    return c


def test_login_over_https_with_pam():
    p = xmlrpc.client.ServerProxy("https://localhost:%d/" % PORT, context=ctx())
    s = ok(p.session.login_with_password(X.username, X.password))
    assert ok(p.host.get_all(s))
    fails(p.session.login_with_password(X.username, "wrong"), "SESSION_AUTHENTICATION_FAILED")


def test_certificate_is_verified_by_clients():
    p = xmlrpc.client.ServerProxy("https://localhost:%d/" % PORT, context=ssl.create_default_context())
    try:
        p.system.listMethods()
        raise AssertionError("an unknown CA was accepted")
    except ssl.SSLError:
        pass


def test_plain_http_to_tls_port_fails():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    data = s.recv(100)
    s.close()
    assert b"Success" not in data and b"methodResponse" not in data, data


def test_tls_1_0_refused():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(CERT)
    try:
        c.minimum_version = ssl.TLSVersion.TLSv1
        c.maximum_version = ssl.TLSVersion.TLSv1
    except (ValueError, AttributeError):
        return          # this OpenSSL cannot even offer TLS 1.0: nothing to refuse
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=5) as raw:
            with c.wrap_socket(raw, server_hostname="localhost"):
                raise AssertionError("TLS 1.0 handshake succeeded")
    except (ssl.SSLError, ConnectionResetError):
        pass


def main():
    global X, CERT, KEY, PORT
    tmp = tempfile.mkdtemp(prefix="xend-tls-")
    CERT, KEY = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", KEY, "-out", CERT],
                   check=True, stderr=subprocess.DEVNULL)
    X = Xend(conf=["listen = https:127.0.0.1:{port:tls} auth=pam cert=%s key=%s" % (CERT, KEY)], tmp=tmp)
    try:
        X.start()
        PORT = X.ports["tls"]
        run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
    finally:
        X.cleanup()


if __name__ == "__main__":
    main()
