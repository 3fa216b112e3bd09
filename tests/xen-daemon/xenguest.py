"""The guests of the Xen-under-QEMU harness (../shared/xen-qemu: /guest holds
a PV/PVH kernel, a busybox initrd printing XQ-GUEST-HELLO and ready-made
xl configs) and the ways to reach their consoles, for the tests and the
benchmark that run in dom0 (tests/xen-daemon/test_xend_xen.py,
bench/xen-create-console.py)."""
import os
import pty
import re
import subprocess
import threading
import time
import tty

GUEST = "/guest"
MARKER = b"XQ-GUEST-HELLO"

# Xen under QEMU/TCG on a loaded 2-core machine is slow: no wait for
# something that must happen is shorter than this (it ends as soon as the
# condition holds).
XEN_DEADLINE = float(os.environ.get("XEND_TEST_DEADLINE", "600"))


def wait(pred, timeout, what):
    timeout = max(timeout, XEN_DEADLINE)
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))


def guest_cfg(name):
    """kernel, ramdisk, extra, memory... of one of the ready-made xl configs."""
    text = open(os.path.join(GUEST, name + ".cfg")).read()
    cfg = {}
    for key in ("kernel", "ramdisk", "extra", "memory", "type", "vcpus", "name"):
        m = re.search(r'^\s*%s\s*=\s*"?([^"\n]*)"?' % key, text, re.M)
        if m:
            cfg[key] = m.group(1).strip()
    return cfg


def xm_cfg(cfgname, name):
    """The Python-style xm config file (xmdomain.cfg(5)) of the same guest as
    /guest/<cfgname>.cfg, named name (a PV guest: xm's builder 'linux')."""
    c = guest_cfg(cfgname)
    assert c.get("type", "pv") == "pv", "xm_cfg makes PV guests only"
    return ('# %s as xm reads it\nname = "%s"\nkernel = "%s"\nramdisk = "%s"\nmemory = %s\nvcpus = %s\n'
            'extra = "%s"\non_poweroff = "destroy"\non_crash = "destroy"\n'
            % (cfgname, name, c["kernel"], c["ramdisk"], c.get("memory", "256"), c.get("vcpus", "1"),
               c.get("extra", "")))


def warm(cfgname):
    """Read the guest's kernel and ramdisk once: neither side of a
    comparison pays the cold page cache."""
    c = guest_cfg(cfgname)
    for f in (c["kernel"], c.get("ramdisk")):
        if f:
            with open(f, "rb") as fh:
                while fh.read(1 << 20):
                    pass


def xl(*args, check=True):
    return subprocess.run(["xl"] + list(args), capture_output=True, text=True, check=check)


class _Reader(threading.Thread):
    """Reads fd until it ends and notes when the marker went by.  Nothing
    stale can satisfy it: it sees only what it read."""

    def __init__(self, fd, note=()):
        super().__init__(daemon=True)
        self.fd = fd
        self.buf = b""
        self.seen = None
        self.noted = dict.fromkeys(note)    # when each of these first went by
        self.start()

    def run(self):
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.buf += chunk
            if self.seen is None and MARKER in self.buf:
                self.seen = time.time()
            for k in self.noted:
                if self.noted[k] is None and k in self.buf:
                    self.noted[k] = time.time()

    def text(self):
        return self.buf.decode(errors="replace")


class PtyReader(_Reader):
    """Reads a guest's console pty as xenconsoled publishes it in xenstore
    (what `xl console` opens)."""

    def __init__(self, domid):
        path = subprocess.run(["xenstore-read", "/local/domain/%d/console/tty" % domid],
                              capture_output=True, text=True, check=True).stdout.strip()
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
        tty.setraw(fd)
        super().__init__(fd)

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


class Terminal(_Reader):
    """A command on a pseudo-terminal (`xm console`, `xl create -c`...), as
    a person at a terminal runs it; notes when the marker appeared on it."""

    def __init__(self, argv, env=None, note=()):
        self.t0 = time.time()
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvpe(argv[0], argv, env or os.environ)
            finally:
                os._exit(127)
        self.pid = pid
        self.status = None
        super().__init__(fd, note)

    def type(self, text):
        os.write(self.fd, text)

    def exited(self):
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status is not None

    def finish(self, what):
        """Wait for the command to exit; its exit status."""
        wait(self.exited, 60, what)
        self.join(5)
        try:
            os.close(self.fd)
        except OSError:
            pass
        return self.status

    def kill(self):
        if not self.exited():
            os.kill(self.pid, 9)
            self.finish("the killed command")
