#!/usr/bin/python3
"""Client-certificate logins on an HTTPS listener with client-ca= (real TLS,
certificates the test makes with openssl): a client whose certificate the CA
signed logs in as the certificate's common name with any password (or an
empty user name), with the role mapped to that name; a name that differs from
the certificate's is refused; without a certificate the login goes through
PAM as usual; a certificate from another CA, or one the CA signed for a name
no role is mapped to, gives no session; a certificate named root is not the
local superuser; a certificate whose extended key usage is not client
authentication (a server's, from the same CA) gives no session; curl with a
client certificate logs in too."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, fails, ok, run, skip  # noqa: E402

X = None
D = None
PORT = None


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(name):
    key, crt = os.path.join(D, name + ".key"), os.path.join(D, name + ".crt")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", "2",
            "-subj", "/CN=%s" % name, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, crt


def make_cert(ca, cn, server=False):
    """A key and a certificate for cn signed by ca (key, crt): their paths."""
    key, csr, crt = (os.path.join(D, "%s.%s" % (cn, e)) for e in ("key", "csr", "crt"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn)
    ext = os.path.join(D, cn + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" if server else
                "extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial", "-out", crt,
            "-days", "2", "-extfile", ext)
    return key, crt


def cert(name):
    return os.path.join(D, name + ".key"), os.path.join(D, name + ".crt")


def proxy(cert=None):
    c = ssl.create_default_context(cafile=os.path.join(D, "server-ca.crt"))
    if cert:
        c.load_cert_chain(cert[1], cert[0])
    return xmlrpc.client.ServerProxy("https://localhost:%d/" % PORT, context=c)


def test_certificate_logs_in_as_its_name():
    p = proxy(cert("alice"))
    s = ok(p.session.login_with_password("alice", "not-a-password"))
    rec = ok(p.session.get_record(s, s))
    assert rec["auth_user_name"] == "alice" and rec["is_local_superuser"] is False, rec
    assert rec["rbac_permissions"][0] == "vm-operator", rec["rbac_permissions"][:3]
    fails(p.VM.create(s, {"name_label": "denied"}), "RBAC_PERMISSION_DENIED")
    ok(p.host.get_all(s))
    ok(p.session.logout(s))
    s = ok(p.session.login_with_password("", ""))      # the name may be left to the certificate
    assert ok(p.session.get_auth_user_name(s, s)) == "alice"
    assert any("opened for 'alice' (vm-operator)" in line for line in open(X.log)), "no log line of the login"


def test_another_name_is_refused():
    p = proxy(cert("alice"))
    fails(p.session.login_with_password("root", ""), "SESSION_AUTHENTICATION_FAILED")
    fails(p.session.login_with_password(X.username, X.password), "SESSION_AUTHENTICATION_FAILED")


def test_without_certificate_pam_as_usual():
    p = proxy()
    s = ok(p.session.login_with_password(X.username, X.password))
    assert ok(p.session.get_auth_user_name(s, s)) == X.username
    fails(p.session.login_with_password("alice", "anything"), "SESSION_AUTHENTICATION_FAILED")


def test_other_ca_gives_nothing():
    p = proxy(cert("mallory"))
    try:
        r = p.session.login_with_password("alice", "x")
    except (ssl.SSLError, OSError):
        return          # GnuTLS may end the handshake on a certificate it cannot verify
    fails(r, "SESSION_AUTHENTICATION_FAILED")
    assert any("client certificate not used: the client certificate does not verify" in line
               for line in open(X.log)), "the unverified certificate was not noticed"


def test_unmapped_name_and_root_certificate():
    p = proxy(cert("bob"))
    fails(p.session.login_with_password("", ""), "SESSION_AUTHORIZATION_FAILED", "bob")
    p = proxy(cert("root"))
    s = ok(p.session.login_with_password("root", ""))
    rec = ok(p.session.get_record(s, s))
    assert rec["is_local_superuser"] is False and rec["rbac_permissions"][0] == "read-only", rec


def test_server_certificate_is_not_a_login():
    p = proxy(cert("carol"))
    try:
        r = p.session.login_with_password("carol", "x")
    except (ssl.SSLError, OSError):
        return          # GnuTLS may end the handshake on a certificate it will not use
    fails(r, "SESSION_AUTHENTICATION_FAILED")
    assert any("client certificate not used: the client certificate is not for client authentication"
               in line for line in open(X.log)), "the wrong key usage was not noticed"


def test_curl_with_client_certificate():
    assert shutil.which("curl"), "curl is not installed (scripts/install-deps.sh installs it)"
    body = xmlrpc.client.dumps(("alice", ""), "session.login_with_password")
    out = subprocess.run(["curl", "-sS", "--max-time", "60", "--cacert", os.path.join(D, "server-ca.crt"),
                          "--cert", os.path.join(D, "alice.crt"), "--key", os.path.join(D, "alice.key"),
                          "-H", "Content-Type: text/xml", "--data-binary", body,
                          "https://localhost:%d/" % PORT], capture_output=True, text=True, check=True).stdout
    r = xmlrpc.client.loads(out)[0][0]
    s = ok(r)
    assert json.dumps(ok(proxy(cert("alice"))
                         .session.get_auth_user_name(s, s))) == '"alice"'


def main():
    global X, D, PORT
    D = tempfile.mkdtemp(prefix="xend-cc-")
    try:
        if not shutil.which("openssl"):
            skip("openssl is not installed (it makes the test's certificates)")
        server_ca, client_ca, other_ca = make_ca("server-ca"), make_ca("client-ca"), make_ca("other-ca")
        skey, scrt = make_cert(server_ca, "localhost", server=True)
        for cn in ("alice", "bob", "root"):
            make_cert(client_ca, cn)
        make_cert(other_ca, "mallory")
        make_cert(client_ca, "carol", server=True)      # the right CA, a server's key usage
        X = Xend(conf=["listen = https:127.0.0.1:{port:tls} cert=%s key=%s client-ca=%s"
                       % (scrt, skey, client_ca[1]),
                       "role-user = alice vm-operator", "role-user = carol vm-operator",
                             "role-user = root read-only"])
        PORT = X.ports["tls"]
        X.start()
        run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
    finally:
        if X:
            X.cleanup()
        shutil.rmtree(D, ignore_errors=True)


if __name__ == "__main__":
    main()
