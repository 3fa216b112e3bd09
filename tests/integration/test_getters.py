#!/usr/bin/python3
"""Generated from the datamodel at run time: make at least one object of
every class that can have one, then call every getter and get_record of
every class and check each returned value against its declared type; call
get_all_records of every class; a bogus ref gets HANDLE_INVALID from every
getter."""
import os
import sys
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
SRCDIR = os.environ.get("XEND_SRCDIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRCDIR, "tools"))
import datamodel  # noqa: E402
from xendtest import ok, fails, run_on_daemon  # noqa: E402

M = datamodel.Model(os.path.join(SRCDIR, "datamodel", "xenapi.json"))
X = None
S = None
P = None


def check(t, v, what):
    """Assert v (as xmlrpc.client decoded it) is a well-typed t."""
    k = t.kind
    if k == "string" or k == "ref":
        assert isinstance(v, str), "%s: %r is not a string" % (what, v)
    elif k == "int":
        assert isinstance(v, str) and v.lstrip("-").isdigit(), "%s: int %r not sent as a decimal string" % (what, v)
    elif k == "float":
        assert isinstance(v, float), "%s: %r is not a double" % (what, v)
    elif k == "bool":
        assert isinstance(v, bool), "%s: %r is not a boolean" % (what, v)
    elif k == "datetime":
        assert isinstance(v, xmlrpc.client.DateTime), "%s: %r is not a dateTime" % (what, v)
        assert len(v.value) == 17 and v.value[8] == "T", "%s: bad datetime %r" % (what, v.value)
    elif k == "enum":
        assert v in M.enums[t.name], "%s: %r not in enum %s" % (what, v, t.name)
    elif k == "set":
        assert isinstance(v, list), "%s: %r is not an array" % (what, v)
        for i, e in enumerate(v):
            check(t.elem, e, "%s[%d]" % (what, i))
    elif k == "map":
        assert isinstance(v, dict), "%s: %r is not a struct" % (what, v)
        for key, e in v.items():
            if t.key.kind == "int":
                assert key.lstrip("-").isdigit(), "%s: int key %r" % (what, key)
            check(t.elem, e, "%s[%s]" % (what, key))
    elif k == "record":
        c = M.class_by_name[t.name]
        assert isinstance(v, dict), "%s: record %r is not a struct" % (what, v)
        missing = [f.name for f in c.fields if f.name not in v]
        assert not missing, "%s: record lacks %s" % (what, missing)
        for f in c.fields:
            check(f.type, v[f.name], "%s.%s" % (what, f.name))
    elif k == "struct":
        assert isinstance(v, dict), what
    elif k == "void":
        assert v == "", "%s: void result %r" % (what, v)
    else:
        raise AssertionError("%s: unknown type kind %s" % (what, k))


def populate():
    """At least one object of every class that can be created here."""
    p, s = P, S
    vm = ok(p.VM.create(s, {"name_label": "getter-vm", "memory_static_max": "268435456",
                            "memory_dynamic_max": "268435456", "VCPUs_max": "1", "VCPUs_at_startup": "1"}))
    net = ok(p.network.create(s, {"name_label": "getter-net"}))
    ok(p.VIF.create(s, {"VM": vm, "network": net, "device": "0", "MAC": "00:16:3e:00:00:01"}))
    ok(p.console.create(s, {"VM": vm, "protocol": "vt100", "other_config": {}}))
    ok(p.VTPM.create(s, {"VM": vm, "backend": vm}))
    ok(p.user.create(s, {"short_name": "u1", "fullname": "User One"}))
    ok(p.cpu_pool.create(s, {"name_label": "pool1", "name_description": "", "auto_power_on": False,
                             "ncpu": "1", "sched_policy": "credit", "proposed_CPUs": [], "other_config": {}}))
    srs = ok(p.SR.get_all(s))
    if srs:
        vdi = ok(p.VDI.create(s, {"name_label": "getter-vdi", "SR": srs[0], "virtual_size": "1048576",
                                  "type": "user", "sharable": False, "read_only": False, "other_config": {}}))
        ok(p.VBD.create(s, {"VM": vm, "VDI": vdi, "device": "xvda", "bootable": True, "mode": "RW",
                            "type": "Disk", "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    ok(getattr(p, "Async").host.get_log(s, ok(p.host.get_all(s))[0]))   # makes a task


def objects_of(c):
    """Refs of class c: from get_all_records where it exists."""
    if not c.has("get_all_records"):
        return []
    return list(ok(getattr(P, c.name).get_all_records(S)).keys())


def test_every_getter_of_every_class():
    populate()
    covered, empty = 0, []
    for c in M.classes:
        if c.pseudo or c.name == "event":
            continue
        refs = [S] if c.name == "session" else objects_of(c)
        if not refs:
            empty.append(c.name)
        proxy = getattr(P, c.name)
        for m in c.messages:
            if m.kind != "getter":
                continue
            fn = getattr(proxy, m.name)
            fails(fn(S, "bogus-ref"), "HANDLE_INVALID", c.name, "bogus-ref")
            for ref in refs:
                check(m.returns, ok(fn(S, ref)), "%s.%s(%s)" % (c.name, m.name, ref[:8]))
                covered += 1
        if c.has("get_record"):
            for ref in refs:
                check(M.parse_type("%s record" % c.name), ok(proxy.get_record(S, ref)), c.name + ".get_record")
    print("  checked %d getter results; classes with no object here: %s" % (covered, ", ".join(empty)))
    assert covered > 300, covered


def test_get_all_records_of_every_class():
    n = 0
    for c in M.classes:
        if not c.has("get_all_records"):
            continue
        recs = ok(getattr(P, c.name).get_all_records(S))
        assert isinstance(recs, dict), c.name
        check(M.parse_type("((%s ref) -> (%s record)) Map" % (c.name, c.name)), recs, c.name + ".get_all_records")
        if c.has("get_all"):
            assert sorted(recs.keys()) == sorted(ok(getattr(P, c.name).get_all(S))), c.name
        n += 1
    assert n >= 30, n


def main():
    run_on_daemon(globals(), [test_every_getter_of_every_class, test_get_all_records_of_every_class], pam=False)


if __name__ == "__main__":
    main()
