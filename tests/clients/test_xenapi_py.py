#!/usr/bin/python3
"""Debian's XenAPI.py (package python3-os-xenapi, unchanged) against the real
daemon over HTTP with PAM: login with 2, 3 (os-xenapi's originator) and 4
parameters, reads, a VM's
lifecycle, event.from, errors as XenAPI.Failure, logout."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, Xend, run, skip  # noqa: E402

try:
    from os_xenapi.client import XenAPI
except ImportError:
    skip("python3-os-xenapi is not installed (scripts/install-deps.sh installs it)")

X = None
MIB = 1 << 20


def session():
    s = XenAPI.Session(X.url)
    s.xenapi.login_with_password(X.username, X.password)
    return s


def test_logins():
    for extra in ((), ("1.0",), ("1.0", "xend-test")):
        s = XenAPI.Session(X.url)
        s.xenapi.login_with_password(X.username, X.password, *extra)
        assert s._session, extra
        assert len(s.xenapi.host.get_all()) == 1
        s.xenapi.session.logout()
    s = XenAPI.Session(X.url)
    try:
        s.xenapi.login_with_password(X.username, "wrong")
        raise AssertionError("a wrong password logged in")
    except XenAPI.Failure as f:
        assert f.details[0] == "SESSION_AUTHENTICATION_FAILED", f.details


def test_list_methods_and_reads():
    s = session()
    # (not system.listMethods: its bare array, as XAPI sends it, is not a
    # Status struct, which XenAPI.py requires of every answer, XAPI's too)
    host = s.xenapi.host.get_all()[0]
    rec = s.xenapi.host.get_record(host)
    assert rec["uuid"] == host and rec["name_label"], rec
    vms = s.xenapi.VM.get_all_records()
    dom0 = [r for r in vms.values() if r["is_control_domain"]]
    assert len(dom0) == 1 and dom0[0]["power_state"] == "Running"
    try:
        s.xenapi.VM.get_record("no-such-vm")
        raise AssertionError("no failure")
    except XenAPI.Failure as f:
        assert f.details == ["HANDLE_INVALID", "VM", "no-such-vm"], f.details
    s.xenapi.session.logout()


def test_vm_lifecycle_and_events():
    s = session()
    b = getattr(s.xenapi.event, "from")(["vm"], "", 1.0)
    token = b["token"]
    vm = s.xenapi.VM.create({"name_label": "xenapi-py", "memory_static_max": str(256 * MIB),
                             "memory_dynamic_max": str(256 * MIB), "memory_dynamic_min": str(128 * MIB),
                             "memory_static_min": str(16 * MIB), "VCPUs_max": "1", "VCPUs_at_startup": "1",
                             "PV_kernel": "/boot/vmlinuz-test"})
    s.xenapi.VM.start(vm, False)
    assert s.xenapi.VM.get_power_state(vm) == "Running"
    seen = {}
    deadline = time.time() + DEADLINE
    while time.time() < deadline and seen.get(vm) != "Running":
        b = getattr(s.xenapi.event, "from")(["vm"], token, 5.0)
        token = b["token"]
        for e in b["events"]:
            if e["ref"] == vm:
                seen[vm] = e["snapshot"]["power_state"]
    assert seen.get(vm) == "Running", seen
    assert isinstance(b["valid_ref_counts"]["vm"], int)
    s.xenapi.VM.hard_shutdown(vm)
    assert s.xenapi.VM.get_power_state(vm) == "Halted"
    s.xenapi.VM.destroy(vm)
    try:
        s.xenapi.VM.get_power_state(vm)
        raise AssertionError("destroyed VM still answers")
    except XenAPI.Failure as f:
        assert f.details[0] == "HANDLE_INVALID"
    s.xenapi.session.logout()


def main():
    global X
    X = Xend()
    with X:
        run([test_logins, test_list_methods_and_reads, test_vm_lifecycle_and_events])


if __name__ == "__main__":
    main()
