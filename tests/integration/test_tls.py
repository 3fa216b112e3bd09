#!/usr/bin/python3
"""HTTPS: a TLS listener with a certificate the test makes; clients that
verify it log in through PAM; plain HTTP to it and old protocol versions
are refused; an unverified client is refused by the client side.  Only TLS
1.2 and 1.3 with forward-secret AEAD suites are offered (gnutls-cli and
openssl s_client try the others); the priority string is configurable; `*`
takes IPv6 and IPv4; `xend -n` finds a key that does not belong to its
certificate; SIGHUP puts a renewed certificate in use."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, ok, fails, run, xend_binary  # noqa: E402

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


def gnutls(priority, host="127.0.0.1", port=None):
    """A gnutls-cli handshake with this priority string: (completed, its output)."""
    r = subprocess.run(["gnutls-cli", "--insecure", "--priority", priority, "-p", str(port or PORT), host],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    return r.returncode == 0 and "Handshake was completed" in out, out


def refused(priority, why):
    done, out = gnutls(priority)
    assert not done, "%s: the handshake succeeded:\n%s" % (why, out)
    # the server ended it (not a client that could not even offer it)
    assert "Connecting to" in out and ("non-properly terminated" in out or "alert" in out.lower()), \
        "%s: not refused by the server:\n%s" % (why, out)


def test_old_versions_refused_gnutls_cli():
    refused("NORMAL:-VERS-ALL:+VERS-TLS1.1", "TLS 1.1")
    refused("NORMAL:-VERS-ALL:+VERS-TLS1.0", "TLS 1.0")


def test_cbc_suites_refused():
    refused("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:+CAMELLIA-128-CBC", "CBC")


def test_non_forward_secret_suites_refused():
    refused("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA", "RSA key exchange")
    refused("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK:+RSA-PSK", "PSK")


def test_fs_aead_accepted():
    for prio, want in (("NORMAL:-VERS-ALL:+VERS-TLS1.2", "(TLS1.2-X.509)-(ECDHE-"),
                       ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305", "CHACHA20-POLY1305"),
                       ("NORMAL:-VERS-ALL:+VERS-TLS1.3", "(TLS1.3-X.509)")):
        done, out = gnutls(prio)
        assert done and want in out, "%s: %s" % (prio, out)
        assert "-GCM)" in out or "POLY1305" in out, out


def test_old_versions_refused_openssl():
    for opt in ("-tls1_1", "-tls1"):
        r = subprocess.run(["openssl", "s_client", opt, "-cipher", "DEFAULT:@SECLEVEL=0", "-connect",
                            "127.0.0.1:%d" % PORT], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30)
        out = r.stdout + r.stderr
        assert r.returncode != 0 and "Cipher is (NONE)" in out or "alert" in out, "%s:\n%s" % (opt, out)
        assert "BEGIN CERTIFICATE" not in out, "%s: a certificate was sent:\n%s" % (opt, out)


def test_dual_stack_star():
    try:
        socket.create_connection(("::1", PORT), timeout=5).close()
    except OSError as e:
        probe = socket.socket(socket.AF_INET6)
        try:
            probe.bind(("::1", 0))
        except OSError:
            print("SKIP test_dual_stack_star: this host has no IPv6 loopback (%s)" % e)
            return
        finally:
            probe.close()
        raise AssertionError("'*' does not take IPv6: %s" % e)
    p = xmlrpc.client.ServerProxy("https://[::1]:%d/" % PORT, context=ctx())
    assert ok(p.session.login_with_password(X.username, X.password))
    done, out = gnutls("NORMAL", host="127.0.0.1")
    assert done, out


def check_conf(extra):
    conf = os.path.join(X.tmp, "check.conf")
    with open(conf, "w") as f:
        f.write("state-dir = %s/check\n%s\n" % (X.tmp, extra))
    return subprocess.run([xend_binary(), "-n", "--config", conf], capture_output=True, text=True, timeout=30)


def test_check_finds_key_not_matching_certificate():
    other_key = os.path.join(X.tmp, "other-key.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", other_key], check=True,
                   capture_output=True)
    r = check_conf("listen = https:127.0.0.1:1 cert=%s key=%s" % (CERT, other_key))
    assert r.returncode == 1 and "does not belong to the certificate" in r.stderr, r.stderr
    r = check_conf("listen = https:127.0.0.1:1 cert=%s key=%s" % (CERT, KEY))
    assert r.returncode == 0, r.stderr


def test_check_finds_client_ca_without_certificate():
    not_ca = os.path.join(X.tmp, "not-a-ca.pem")
    with open(not_ca, "w") as f:
        f.write("this is no certificate\n")
    r = check_conf("listen = https:127.0.0.1:1 cert=%s key=%s client-ca=%s" % (CERT, KEY, not_ca))
    assert r.returncode == 1 and "no CA certificate in the client-ca= file" in r.stderr, r.stderr
    r = check_conf("listen = https:127.0.0.1:1 cert=%s key=%s client-ca=%s" % (CERT, KEY, CERT))
    assert r.returncode == 0, r.stderr


def test_priority_string_checked_and_used():
    r = check_conf("tls-priorities = NORMAL:+NO-SUCH-THING\nlisten = https:127.0.0.1:1 cert=%s key=%s" % (CERT, KEY))
    assert r.returncode == 1 and "tls-priorities" in r.stderr and "NO-SUCH-THING" in r.stderr, r.stderr
    y = Xend(pam=False, conf=["tls-priorities = SECURE256:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:"
                              "-KX-ALL:+ECDHE-RSA",
                              "listen = https:127.0.0.1:{port:tls} auth=pam cert=%s key=%s" % (CERT, KEY)])
    try:
        y.start()
        port = y.ports["tls"]
        done, out = gnutls("NORMAL:-VERS-ALL:+VERS-TLS1.3", port=port)
        assert not done, "TLS 1.3 accepted though the priority string allows TLS 1.2 only:\n" + out
        done, out = gnutls("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM", port=port)
        assert not done, "AES-128-GCM accepted though only AES-256-GCM is allowed:\n" + out
        done, out = gnutls("NORMAL", port=port)
        assert done and "(TLS1.2-X.509)-(ECDHE-" in out and "AES-256-GCM" in out, out
    finally:
        y.cleanup()


def test_certificate_reloaded_on_sighup():
    def subject():
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % PORT], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        for line in r.stdout.splitlines():
            if line.startswith("subject="):
                return line
        raise AssertionError("no certificate: " + r.stdout + r.stderr)
    assert "CN = localhost" in subject()
    new_cert, new_key = CERT + ".new", KEY + ".new"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=renewed",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1", "-keyout", new_key, "-out", new_cert],
                   check=True, capture_output=True)
    os.rename(new_key, KEY)
    os.rename(new_cert, CERT)
    X.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 30
    while "CN = renewed" not in subject():
        assert time.time() < deadline, "the renewed certificate is not served 30 s after SIGHUP"
        time.sleep(0.1)
    # and clients that verify it log in (the file is the new CA for them)
    test_login_over_https_with_pam()


def main():
    global X, CERT, KEY, PORT
    tmp = tempfile.mkdtemp(prefix="xend-tls-")
    CERT, KEY = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1", "-keyout", KEY, "-out", CERT],
                   check=True, stderr=subprocess.DEVNULL)
    for tool in ("gnutls-cli", "openssl"):
        if not shutil.which(tool):
            print("FAIL: %s is missing (scripts/install-deps.sh installs it)" % tool)
            print("0 passed, 1 failed")
            sys.exit(1)
    X = Xend(conf=["listen = https:*:{port:tls} auth=pam cert=%s key=%s" % (CERT, KEY)], tmp=tmp)
    try:
        X.start()
        PORT = X.ports["tls"]
        tests = [v for k, v in sorted(globals().items()) if k.startswith("test_") and k != "test_certificate_reloaded_on_sighup"]
        run(tests + [test_certificate_reloaded_on_sighup])   # last: it replaces the certificate
    finally:
        X.cleanup()


if __name__ == "__main__":
    main()
