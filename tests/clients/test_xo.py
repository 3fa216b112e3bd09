#!/usr/bin/python3
"""Xen Orchestra's client, npm xen-api as published (tests/clients/package.json,
installed by scripts/install-deps.sh), against the real daemon over HTTP with
PAM, in both its transports: connect with events on, list, follow a VM's
lifecycle through event.from, no warning or error logged (xo_client.mjs)."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, run_with, skip  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
X = None


def client(transport):
    r = subprocess.run(["node", os.path.join(HERE, "xo_client.mjs"), "http://127.0.0.1:%d" % X.port,
                        X.username, X.password, transport], capture_output=True, text=True, timeout=600)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    assert r.returncode == 0, "xo_client.mjs %s exited with %d" % (transport, r.returncode)


def test_json_rpc_transport():
    client("json-rpc")


def test_xml_rpc_transport():
    client("xml-rpc")


def test_auto_transport_picks_json_rpc():
    client("auto")


def main():
    global X
    if not shutil.which("node"):
        skip("node is not installed (scripts/install-deps.sh installs it)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "xen-api")):
        skip("tests/clients/node_modules/xen-api is missing: run scripts/install-deps.sh")
    X = Xend()
    run_with(X, [test_json_rpc_transport, test_xml_rpc_transport, test_auto_transport_picks_json_rpc])


if __name__ == "__main__":
    main()
