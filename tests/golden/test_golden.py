"""Golden request -> response cases: each tests/golden/NAME.request.xml is
POSTed as is to a freshly started xend (sim backend) over its Unix socket,
and the answer, normalised, must equal NAME.response.xml byte for byte.

Placeholders in a request stand for the case's fixture, made before it runs:
  @SESSION@   a session (session.login_with_password over the socket)
  @HOST@      the host            @VM@ / @VM_UUID@  a halted VM "golden-vm"
  @CPU_POOL@  a cpu_pool "golden-pool"
Normalisation of the answer: those values become their placeholders again,
any other uuid becomes @UUID1@, @UUID2@... (numbered by first appearance),
every dateTime.iso8601 value becomes @DATETIME@.  The stored form has a
newline after each '>' that is followed by '<' (for review); the wire form,
which is checked separately, has no whitespace between elements; an empty
element stays on one line.  The first
line of a response file is the HTTP status and Content-Type.

  XEND_REGENERATE=1 (or `make regenerate-golden`) rewrites every response
  file from what the daemon answers now: review the diff before committing.
  XEND_ONLY=NAME runs the cases whose name contains NAME.
"""
import difflib
import glob
import os
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.environ.get("XEND_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
from xendtest import DEADLINE, Xend, ok  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATETIME = re.compile(r"<dateTime\.iso8601>[^<]*</dateTime\.iso8601>")
REGENERATE = os.environ.get("XEND_REGENERATE") == "1"


def post(path, body):
    """POST body to / over the Unix socket; (status, content_type, body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(DEADLINE)
    s.connect(path)
    head = ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode()
    s.sendall(head + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    header, _, payload = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    if fields.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", payload
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        payload = out
    return status, fields.get("content-type", ""), payload.decode("utf-8")


def fixture(x):
    p, session = x.unix_session()
    host = ok(p.host.get_all(session))[0]
    vm = ok(p.VM.create(session, {
        "name_label": "golden-vm", "name_description": "a VM of the golden cases",
        "memory_static_max": str(256 << 20), "memory_dynamic_max": str(256 << 20),
        "memory_dynamic_min": str(128 << 20), "memory_static_min": str(16 << 20),
        "VCPUs_max": "2", "VCPUs_at_startup": "1", "PV_kernel": "/boot/vmlinuz",
        "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
        "actions_after_crash": "destroy", "other_config": {"golden": "yes"}}))
    pool = ok(p.cpu_pool.create(session, {
        "name_label": "golden-pool", "name_description": "", "auto_power_on": False, "ncpu": "1",
        "sched_policy": "credit", "proposed_CPUs": [], "other_config": {}}))
    return {"@SESSION@": session, "@HOST@": host, "@VM@": vm, "@VM_UUID@": ok(p.VM.get_uuid(session, vm)),
            "@CPU_POOL@": pool}


def normalise(text, fix):
    for name, value in sorted(fix.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, name)
    seen = {}

    def number(m):
        return seen.setdefault(m.group(0), "@UUID%d@" % (len(seen) + 1))
    text = UUID.sub(number, text)
    text = DATETIME.sub("<dateTime.iso8601>@DATETIME@</dateTime.iso8601>", text)
    # one element per line, but an empty element ("<string></string>") whole
    lines = re.sub(r">(?=<)", ">\n", text).split("\n")
    out = []
    for ln in lines:
        if out and ln.startswith("</") and out[-1] == "<" + ln[2:]:
            out[-1] += ln
        else:
            out.append(ln)
    return "\n".join(out)


def run_case(name):
    """Returns None when the case passes, else why it failed."""
    with open(os.path.join(HERE, name + ".request.xml"), "rb") as f:
        request = f.read().decode("utf-8")
    x = Xend(pam=False)
    try:
        x.start()
        fix = fixture(x)
        body = request
        for k, v in fix.items():
            body = body.replace(k, v)
        if "@" in re.sub(r"@(?![A-Z_0-9]+@)", "", body):
            return "the request uses a placeholder this driver does not know: %s" % \
                re.findall(r"@[A-Z_0-9]+@", body)
        status, ctype, answer = post(x.unix, body.encode("utf-8"))
        if re.search(r">\s+<", answer):
            return "whitespace between elements in the answer (not the wire form):\n" + answer
        got = "HTTP %d %s\n%s\n" % (status, ctype, normalise(answer, fix))
    finally:
        x.cleanup()
    path = os.path.join(HERE, name + ".response.xml")
    if REGENERATE:
        old = open(path).read() if os.path.exists(path) else None
        if old != got:
            with open(path, "w") as f:
                f.write(got)
            print("REGENERATED %s" % os.path.relpath(path))
        return None
    if not os.path.exists(path):
        return "no %s (make regenerate-golden writes it; review it)" % path
    want = open(path).read()
    if got == want:
        return None
    return "answer differs from %s:\n%s" % (
        os.path.relpath(path), "".join(difflib.unified_diff(
            want.splitlines(True), got.splitlines(True), "expected", "got")))


def main():
    only = os.environ.get("XEND_ONLY")
    names = sorted(os.path.basename(p)[:-len(".request.xml")]
                   for p in glob.glob(os.path.join(HERE, "*.request.xml")))
    orphans = sorted(os.path.basename(p) for p in glob.glob(os.path.join(HERE, "*.response.xml"))
                     if not os.path.exists(p.replace(".response.xml", ".request.xml")))
    passed = failed = 0
    if orphans:
        failed += 1
        print("FAIL response files without a request: %s" % " ".join(orphans))
    if not names:
        failed += 1
        print("FAIL no cases in %s" % HERE)
    for n in names:
        if only and only not in n:
            continue
        why = run_case(n)
        if why is None:
            passed += 1
            print("PASS %s" % n, flush=True)
        else:
            failed += 1
            print("FAIL %s: %s" % (n, why), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
