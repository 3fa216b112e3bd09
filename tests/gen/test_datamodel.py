#!/usr/bin/env python3
"""The datamodel and its generator: the real datamodel validates and derives
the frozen wire surface; broken datamodels are refused with the named problem;
the generator rewrites only the files whose content changes; the derived roles
follow XAPI's defaults."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("XEND_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SRCDIR, "tools"))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
import datamodel  # noqa: E402
from xendtest import run  # noqa: E402

PATH = os.path.join(SRCDIR, "datamodel", "xenapi.json")
RAW = json.load(open(PATH))


def cls(d, name):
    return next(c for c in d["classes"] if c["name"] == name)


def field(d, c, name):
    return next(f for f in cls(d, c)["fields"] if f["name"] == name)


def expect(mutate, code, where_part):
    """mutate a copy of the datamodel; loading it must fail naming code at where_part."""
    d = copy.deepcopy(RAW)
    mutate(d)
    try:
        datamodel.Model(data=d)
    except datamodel.DatamodelError as e:
        hits = [p for p in e.problems if p[0] == code and where_part in p[1]]
        assert hits, "expected %s at %s, got %s" % (code, where_part, e.problems)
        return
    raise AssertionError("a datamodel with %s at %s was accepted" % (code, where_part))


def test_real_datamodel_matches_the_manifest():
    m = datamodel.Model(PATH)
    lines = [l.rstrip("\n") for l in open(os.path.join(SRCDIR, "api", "methods.txt")) if not l.startswith("#")]
    got = ["%s%s" % (w, msg.signature()) for w, _, msg in m.wire_methods()]
    assert got == lines, "derived surface differs from api/methods.txt"
    # derivation did the work: few messages are written out
    written = sum(len(c["messages"]) for c in RAW["classes"])
    total = sum(len(c.messages) for c in m.classes)
    assert total > 600 and written < 130, (written, total)


def test_derived_roles_follow_xapi():
    m = datamodel.Model(PATH)
    vm = m.class_by_name["VM"]
    role = {msg.name: msg.role for msg in vm.messages}
    assert role["get_record"] == "read-only" and role["get_name_label"] == "read-only"
    assert role["set_name_label"] == "vm-admin" and role["create"] == "vm-admin"
    assert role["set_memory_static_max"] == "vm-power-admin"      # writer_role
    assert role["start"] == "vm-operator" and role["save"] == "pool-admin"
    assert m.class_by_name["host"].messages[0].role == "read-only"  # a getter
    assert {msg.role for msg in m.class_by_name["host"].messages if msg.name == "set_name_label"} == {"pool-operator"}
    assert datamodel.roles_allowed("vm-admin") == ["pool-admin", "pool-operator", "vm-power-admin", "vm-admin"]


def test_broken_datamodels_are_refused_by_name():
    cases = [
        (lambda d: field(d, "VM", "name_label").update(type="strnig"), "unknown-type", "field VM.name_label"),
        (lambda d: field(d, "VM", "name_label").update(qual="RX"), "bad-qualifier", "field VM.name_label"),
        (lambda d: field(d, "VM", "name_label").pop("doc"), "missing-key", "field VM.name_label"),
        (lambda d: field(d, "VM", "name_label").update(doc="two\nlines"), "bad-doc", "field VM.name_label"),
        (lambda d: field(d, "VM", "name_label").update(colour="red"), "unknown-key", "field VM.name_label"),
        (lambda d: cls(d, "VM")["fields"].append(dict(field(d, "VM", "uuid"))), "duplicate-field", "VM.uuid"),
        (lambda d: d["classes"].append(copy.deepcopy(cls(d, "pool"))), "duplicate-class", "class pool"),
        (lambda d: cls(d, "VM").update(omit=["get_flux"]), "omit-unknown", "class VM"),
        (lambda d: cls(d, "VM")["messages"].append({"name": "set_flux", "errors": []}), "override-unknown",
         "VM.set_flux"),
        (lambda d: cls(d, "VM")["messages"].append({"name": "get_uuid", "kind": "explicit", "params": [],
                                                    "returns": "string", "doc": "x"}),
         "duplicate-message", "VM.get_uuid"),
        (lambda d: cls(d, "VM")["messages"][0].update(errors=["NO_SUCH_ERROR"]), "unknown-error", "VM.clone"),
        (lambda d: cls(d, "VM")["messages"][0].update(role="vm-superhero"), "unknown-role", "VM.clone"),
        (lambda d: cls(d, "VM").update(role="root"), "unknown-role", "class VM"),
        (lambda d: d.update(roles=d["roles"][1:]), "bad-roles", "roles"),
        (lambda d: cls(d, "VM")["messages"][0].update(unsupported=["VM_BAD_POWER_STATE"]), "bad-flag", "VM.clone"),
        (lambda d: cls(d, "VM")["messages"][0].update(secret=["password"]), "bad-flag", "VM.clone"),
        (lambda d: cls(d, "VM")["messages"][0].update(kind="teleport"), "bad-kind", "VM.clone"),
        (lambda d: field(d, "VM", "name_label").update(min=1), "bad-constraint", "field VM.name_label"),
        (lambda d: field(d, "VM", "VCPUs_max").update(min=5, max=2), "bad-constraint", "field VM.VCPUs_max"),
        (lambda d: field(d, "VM", "domid").update(max=7), "bad-constraint", "field VM.domid"),
        (lambda d: cls(d, "VM")["orderings"][0]["fields"].append("memory_overdrive"), "unknown-field",
         "class VM ordering 0"),
        (lambda d: cls(d, "VM")["orderings"][0].update(error="HANDLE_INVALID"), "bad-constraint",
         "class VM ordering 0"),
        (lambda d: d["errors"].append(["HANDLE_INVALID", ["x"], "again"]), "duplicate-error", "error HANDLE_INVALID"),
        (lambda d: d["errors"].append(["lower_case", [], "bad"]), "bad-error", "error lower_case"),
        (lambda d: d["relationships"].append(["VM.nothing", "host.resident_VMs", "one-to-many"]), "unknown-field",
         "relationship"),
        (lambda d: cls(d, "VM")["fields"].append({"name": "x", "type": "(Nowhere ref) Set", "qual": "RO/run",
                                                  "doc": "d"}), "unknown-type", "field VM.x"),
    ]
    for mutate, code, where in cases:
        expect(mutate, code, where)
    # every problem is reported, not only the first
    d = copy.deepcopy(RAW)
    field(d, "VM", "name_label")["qual"] = "RX"
    field(d, "host", "name_label")["type"] = "nope"
    try:
        datamodel.Model(data=d)
        raise AssertionError("accepted")
    except datamodel.DatamodelError as e:
        assert {p[0] for p in e.problems} >= {"bad-qualifier", "unknown-type"}, e.problems


def test_generator_refuses_a_broken_datamodel():
    with tempfile.TemporaryDirectory() as tmp:
        d = copy.deepcopy(RAW)
        field(d, "VM", "name_label")["qual"] = "RX"
        bad = os.path.join(tmp, "bad.json")
        json.dump(d, open(bad, "w"))
        r = subprocess.run([sys.executable, os.path.join(SRCDIR, "tools", "gen.py"), bad, os.path.join(tmp, "out")],
                           capture_output=True, text=True)
        assert r.returncode != 0, r
        assert "[bad-qualifier]" in r.stderr and "field VM.name_label" in r.stderr, r.stderr
        assert not os.path.exists(os.path.join(tmp, "out", "xapi_model.h")), "generated from a broken model"


def test_generator_rewrites_only_changed_files():
    gen = [sys.executable, os.path.join(SRCDIR, "tools", "gen.py")]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        subprocess.run(gen + [PATH, out], check=True)
        before = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in os.listdir(out)}
        time.sleep(0.05)
        subprocess.run(gen + [PATH, out], check=True)
        after = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in os.listdir(out)}
        assert before == after, "an unchanged datamodel rewrote files"
        # a doc-string edit touches only the files that carry doc strings
        d = copy.deepcopy(RAW)
        cls(d, "VM")["messages"][1]["doc"] = "Start the VM (edited)."
        edited = os.path.join(tmp, "edited.json")
        json.dump(d, open(edited, "w"))
        subprocess.run(gen + [edited, out], check=True)
        changed = {f for f in os.listdir(out) if os.stat(os.path.join(out, f)).st_mtime_ns != before[f]}
        assert changed == {"api-reference.md", "xapi_handlers.h"}, changed


def test_reference_has_every_method_and_error():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(SRCDIR, "tools", "gen.py"), PATH, tmp], check=True)
        ref = open(os.path.join(tmp, "api-reference.md")).read()
        m = datamodel.Model(PATH)
        for c in m.classes:
            assert "### %s\n" % c.name in ref, c.name
            for msg in c.messages:
                assert "| `%s` |" % msg.name in ref, (c.name, msg.name)
        for code, _ in m.errors:
            assert "| `%s` |" % code in ref, code
        assert "RBAC_PERMISSION_DENIED" in ref and "vm-power-admin" in ref


if __name__ == "__main__":
    run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
