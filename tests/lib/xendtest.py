"""Test harness: start the real xend on a temporary state dir, Unix socket
and TCP port, with a PAM test user, and talk to it with xmlrpc.client.

Used by the Python integration tests (import) and by shell/C tests
(`eval "$(python3 xendtest.py start)"` ... `python3 xendtest.py stop DIR`).

Environment:
  XEND_BUILDDIR   build tree holding daemon/xend (default: cwd)
  XEND_WRAPPER    command prefix for the daemon, e.g. "valgrind --error-exitcode=99"
  XEND_KEEP=1     keep the temporary directory
"""
import http.client
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import xmlrpc.client

BUILDDIR = os.environ.get("XEND_BUILDDIR", os.getcwd())
SRCDIR = os.environ.get("XEND_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# How long a test waits for something that must happen.  Generous: a loaded
# 2-core machine under ASan must never fail a test; a wait ends as soon as its
# condition holds, so a quick machine pays nothing.  XEND_TEST_DEADLINE=S.
DEADLINE = float(os.environ.get("XEND_TEST_DEADLINE", "120"))


def wait_until(cond, what, timeout=None):
    """Poll cond() every 50 ms until it is true; AssertionError naming what
    after timeout (default DEADLINE) seconds.  Returns cond()'s value."""
    deadline = time.time() + (DEADLINE if timeout is None else timeout)
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("not within %.0f s: %s" % (DEADLINE if timeout is None else timeout, what))
        time.sleep(0.05)


def xend_binary():
    return os.environ.get("XEND_BIN", os.path.join(BUILDDIR, "daemon", "xend"))


def real_program(rel, build=None):
    """The program REL of the build (e.g. "xm/xm") itself, as it runs once
    installed, not libtool's wrapper script in its place (bash, three seds,
    an ls and a dozen forks on every run); it finds the uninstalled libxenapi
    through program_env()."""
    d, b = os.path.split(os.path.join(build or BUILDDIR, rel))
    lt = os.path.join(d, ".libs", b)
    return lt if os.access(lt, os.X_OK) else os.path.join(d, b)


def program_env(env, build=None):
    """env with the build's libxenapi first on LD_LIBRARY_PATH, for
    real_program()."""
    lib = os.path.join(build or BUILDDIR, "libxen", ".libs")
    old = env.get("LD_LIBRARY_PATH")
    return dict(env, LD_LIBRARY_PATH=lib + (":" + old if old else ""))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


SKIP = 77   # the automake exit status of a test that cannot run here


class NeedsRoot(RuntimeError):
    """This test cannot run without root: it is SKIPPED (loudly), not failed."""


def skip(why):
    """This test cannot run here: say SKIP with the reason, exit 77."""
    print("SKIP: %s" % why, flush=True)
    sys.exit(SKIP)


def require_root(why):
    if os.geteuid() != 0:
        raise NeedsRoot("needs root (%s); running as uid %d" % (why, os.geteuid()))


def _skip_on_needs_root(kind, value, tb):
    """A NeedsRoot that escapes a test script (e.g. from Xend() at its top
    level) makes the whole script a SKIP, with the reason, not a failure."""
    if issubclass(kind, NeedsRoot):
        print("SKIP: %s" % value, file=sys.stderr)
        print("0 passed, 0 failed (SKIPPED)", flush=True)
        sys.stderr.flush()
        os._exit(SKIP)
    sys.__excepthook__(kind, value, tb)


sys.excepthook = _skip_on_needs_root


class PamUser:
    """A throw-away local user and a PAM service file for it (needs root)."""

    def __init__(self):
        require_root("the PAM tests create a user and a PAM service")
        self.name = "xt%s" % secrets.token_hex(4)
        self.password = "pw-" + secrets.token_urlsafe(12)
        self.service = "xend-test-%s" % self.name
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", self.name], check=True)
        subprocess.run(["chpasswd"], input="%s:%s\n" % (self.name, self.password), text=True, check=True)
        with open("/etc/pam.d/" + self.service, "w") as f:
            f.write("auth required pam_unix.so\naccount required pam_unix.so\n")

    def remove(self):
        subprocess.run(["userdel", self.name], stderr=subprocess.DEVNULL)
        try:
            os.unlink("/etc/pam.d/" + self.service)
        except FileNotFoundError:
            pass


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        path = self.path

        class Conn(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
        return Conn("localhost")


class Xend:
    def __init__(self, backend="sim", args=(), conf=(), pam=True, tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="xend-test-")
        self.state = os.path.join(self.tmp, "state")
        self.unix = os.path.join(self.tmp, "xen-api.sock")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.backend = backend
        self.args = list(args)
        self.user = PamUser() if pam else None
        self.log = os.path.join(self.tmp, "xend.log")
        self.audit = os.path.join(self.tmp, "audit.log")
        self.conf = os.path.join(self.tmp, "xend.conf")
        self.pid_file = os.path.join(self.tmp, "xend.pid")
        self.pam = pam
        # extra configuration lines; "{port:NAME}" in one stands for a free
        # port, self.ports[NAME], taken again with the others when a start
        # finds a port in use
        self.extra_conf = list(conf)
        self.ports = {}
        self._pick_ports()
        self.write_conf()
        self.proc = None

    def _pick_ports(self):
        for line in self.extra_conf:
            for name in re.findall(r"\{port:(\w+)\}", line):
                self.ports[name] = free_port()

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write("state-dir = %s\n" % self.state)
            f.write("pid-file = %s\n" % self.pid_file)
            f.write("listen = unix:%s auth=none\n" % self.unix)
            f.write("listen = http:127.0.0.1:%d auth=%s\n" % (self.port, "pam" if self.pam else "none"))
            f.write("pam-service = %s\n" % (self.user.service if self.user else "xend"))
            if self.user and not any(l.startswith("role-user = %s " % self.user.name) for l in self.extra_conf):
                # the tests' PAM user has full control unless a test maps it otherwise
                f.write("role-user = %s pool-admin\n" % self.user.name)
            f.write("log-file = %s\n" % self.log)
            f.write("log-level = debug\n")
            if not any(line.startswith("audit-log") for line in self.extra_conf):
                f.write("audit-log = %s\n" % self.audit)
            if not any(line.startswith("web-dir") for line in self.extra_conf):
                f.write("web-dir = %s\n" % os.path.join(SRCDIR, "web"))
            for line in self.extra_conf:
                f.write(re.sub(r"\{port:(\w+)\}", lambda m: str(self.ports[m.group(1)]), line) + "\n")

    @property
    def username(self):
        return self.user.name if self.user else "root"

    @property
    def password(self):
        return self.user.password if self.user else ""

    def start(self, timeout=DEADLINE, _retries=3):
        cmd = shlex.split(os.environ.get("XEND_WRAPPER", "")) + [
            xend_binary(), "--foreground", "--config", self.conf, "--backend", self.backend] + self.args
        errlen = os.path.getsize(self.log + ".stderr") if os.path.exists(self.log + ".stderr") else 0
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(self.log + ".stderr", "a"))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                with open(self.log + ".stderr") as f:
                    f.seek(errlen)
                    err = f.read()
                if "Address already in use" in err and _retries > 0:
                    # another process took the port between two runs of this
                    # daemon (a restart test): take a new one and say so
                    self.port = free_port()
                    self.url = "http://127.0.0.1:%d/" % self.port
                    self._pick_ports()
                    self.write_conf()
                    self.proc = None
                    return self.start(timeout, _retries - 1)
                raise RuntimeError("xend exited with %s:\n%s" % (self.proc.returncode, self.stderr()))
            try:
                self.unix_proxy().system.listMethods()
                return self
            except (OSError, xmlrpc.client.ProtocolError):
                time.sleep(0.05)
        raise RuntimeError("xend did not answer within %d s:\n%s" % (timeout, self.stderr()))

    def stderr(self):
        try:
            return open(self.log + ".stderr").read()[-4000:] + open(self.log).read()[-4000:]
        except OSError:
            return ""

    def stop(self, check=True):
        """SIGTERM and wait; with check, a non-zero exit is an error."""
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise RuntimeError("xend did not stop on SIGTERM")
        self.proc = None
        if check and rc != 0:
            raise RuntimeError("xend exited with %d:\n%s" % (rc, self.stderr()))
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        if self.proc:
            try:
                self.stop(check=False)
            except RuntimeError:
                pass
        if self.user:
            self.user.remove()
        if not os.environ.get("XEND_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- clients ----
    def proxy(self):
        return xmlrpc.client.ServerProxy(self.url, allow_none=False)

    def unix_proxy(self):
        return xmlrpc.client.ServerProxy("http://localhost/", transport=UnixTransport(self.unix))

    def http(self, method, path, body=None, headers=None, timeout=30):
        """One plain HTTP request on its own connection to the TCP port:
        (the response, its whole body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body, headers or {})
            r = c.getresponse()
            return r, r.read()
        finally:
            c.close()

    def unix_session(self):
        """A proxy on the Unix socket and a session of root on it (a local root
        logs in without a password)."""
        p = self.unix_proxy()
        return p, ok(p.session.login_with_password("root", ""))

    def login(self, proxy=None):
        p = proxy or self.proxy()
        r = p.session.login_with_password(self.username, self.password)
        assert r["Status"] == "Success", r
        return r["Value"]

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.cleanup()


def ok(r):
    """The Value of a Success result, or raise with the ErrorDescription."""
    if r.get("Status") != "Success":
        raise AssertionError("call failed: %r" % (r.get("ErrorDescription"),))
    assert list(r.keys())[0] == "Status", "Status must come first: %r" % list(r.keys())
    return r["Value"]


def new_vm(p, s, name, mem=256 << 20):
    """A halted PV VM of mem bytes, one vCPU; its ref."""
    return ok(p.VM.create(s, {"name_label": name, "memory_static_max": str(mem),
                              "memory_dynamic_max": str(mem), "memory_dynamic_min": str(mem // 2),
                              "memory_static_min": str(16 << 20), "VCPUs_max": "1", "VCPUs_at_startup": "1",
                              "PV_kernel": "/boot/vmlinuz-test"}))


def fails(r, *expected):
    """Assert a Failure whose ErrorDescription starts with expected."""
    assert r.get("Status") == "Failure", "expected failure %r, got %r" % (expected, r)
    ed = r["ErrorDescription"]
    assert list(ed[:len(expected)]) == list(expected), "expected %r, got %r" % (expected, ed)
    return ed


def run(tests):
    """Run test functions; print 'N passed, M failed'; exit 1 on a failure,
    77 (SKIP, with the reasons printed) when a test could not run here."""
    passed = failed = 0
    skipped = []
    only = os.environ.get("XEND_ONLY")
    for t in tests:
        if only and only not in t.__name__:
            continue
        t0 = time.time()
        try:
            t()
            passed += 1
            print("PASS %s (%.2fs)" % (t.__name__, time.time() - t0), flush=True)
        except NeedsRoot as e:
            skipped.append(t.__name__)
            print("SKIP %s: %s" % (t.__name__, e), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    if skipped:
        print("SKIPPED (could not run here): %s" % " ".join(skipped), file=sys.stderr)
    print("%d passed, %d failed%s" % (passed, failed, " (%d SKIPPED)" % len(skipped) if skipped else ""))
    sys.exit(1 if failed else SKIP if skipped else 0)



def run_with(x, tests):
    """Start the daemon x, run the tests against it, clean it up however run() ends."""
    try:
        x.start()
        run(tests)
    finally:
        x.cleanup()


def run_on_daemon(g, tests, **xend_args):
    """Run a module's tests against one daemon (Xend(**xend_args)): the module's
    globals g get X (the Xend), P (a proxy) and S (a logged-in session) before
    the tests run; the daemon is cleaned up however run() ends."""
    x = g["X"] = Xend(**xend_args)
    try:
        x.start()
        g["P"] = x.proxy()
        g["S"] = x.login(g["P"])
        run(tests)
    finally:
        x.cleanup()

def _cli():
    if sys.argv[1:2] == ["start"]:
        try:
            x = Xend().start()
        except NeedsRoot as e:
            print("SKIP: %s" % e, file=sys.stderr)
            sys.exit(SKIP)
        print("export XEND_DIR=%s XEND_URL=%s XEND_UNIX=%s XEND_USER=%s XEND_PASS=%s XEND_PID=%d" % (
            shlex.quote(x.tmp), x.url, shlex.quote(x.unix), x.username, shlex.quote(x.password), x.proc.pid))
        # the daemon outlives this process; stop() finds it by pid
        with open(os.path.join(x.tmp, "pam-user"), "w") as f:
            f.write("%s %s\n" % (x.user.name, x.user.service))
        os._exit(0)
    elif sys.argv[1:2] == ["stop"]:
        tmp = sys.argv[2]
        pid = int(sys.argv[3])
        rc = 0
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.time() + DEADLINE
            while time.time() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)
            rc = 1
        except ProcessLookupError:
            pass
        try:
            name, service = open(os.path.join(tmp, "pam-user")).read().split()
            subprocess.run(["userdel", name], stderr=subprocess.DEVNULL)
            os.unlink("/etc/pam.d/" + service)
        except (OSError, ValueError):
            pass
        if not os.environ.get("XEND_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(rc)
    else:
        print("usage: xendtest.py start | stop DIR PID", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    _cli()
