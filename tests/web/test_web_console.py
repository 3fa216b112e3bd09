#!/usr/bin/python3
"""The web console in a real browser (tests/web/console.mjs: headless
Chromium + puppeteer-core) against the real daemon on the sim, logged in
through PAM over JSON-RPC.  Screenshots are kept in the build tree
(tests/web/artifacts/) for review."""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from xendtest import BUILDDIR, PamUser, Xend, run, skip  # noqa: E402

X = None
RO = None      # a second PAM account, mapped to the read-only role
SHOTS = os.path.join(BUILDDIR, "tests", "web", "artifacts")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def test_console_in_chromium():
    os.makedirs(SHOTS, exist_ok=True)
    env = dict(os.environ, XEND_URL=X.url, XEND_USER=X.username, XEND_PASS=X.password,
               XEND_SHOTS=SHOTS, CHROMIUM=CHROMIUM,
               XEND_RO_USER=RO.name, XEND_RO_PASS=RO.password)
    p = subprocess.run(["node", os.path.join(HERE, "console.mjs")], env=env, cwd=HERE,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    print(p.stdout, end="")
    assert p.returncode == 0, "console.mjs failed (exit %d): see the FAIL lines above" % p.returncode
    for name in ("01-login.png", "02-vm-list.png", "04-vm-running.png"):
        assert os.path.getsize(os.path.join(SHOTS, name)) > 1000, name


def main():
    global X
    missing = [what for what, ok in (
        ("chromium (scripts/install-deps.sh installs it)", os.access(CHROMIUM, os.X_OK)),
        ("node", shutil.which("node")),
        ("tests/web/node_modules (scripts/install-deps.sh runs npm ci)",
         os.path.isdir(os.path.join(HERE, "node_modules", "puppeteer-core")))) if not ok]
    if missing:
        skip("the browser test needs %s" % ", ".join(missing))
    global RO
    RO = PamUser()
    try:
        # the read-only account logs in through the same PAM service as the harness's user
        X = Xend(conf=["role-user = %s read-only" % RO.name])
        with open("/etc/pam.d/" + X.user.service) as f, open("/etc/pam.d/" + RO.service, "w") as g:
            g.write(f.read())
        try:
            X.start()
            run([test_console_in_chromium])
        finally:
            X.cleanup()
    finally:
        RO.remove()


if __name__ == "__main__":
    main()
