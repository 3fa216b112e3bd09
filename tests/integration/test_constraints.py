#!/usr/bin/env python3
"""Field constraints and unsupported messages, generated from the datamodel at
run time and checked against the real daemon: every constrained field's
setter and create refuse a value just outside its range (or too long, or with
a control character) with VALUE_NOT_SUPPORTED [Class.field, value, reason] and
accept the edge values; the orderings declared for start are checked by
VM.start; every message the datamodel marks unsupported answers its error."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("XEND_SRCDIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(SRCDIR, "tools"))
import datamodel  # noqa: E402
from xendtest import Xend, fails, ok, run  # noqa: E402

M = datamodel.Model(os.path.join(SRCDIR, "datamodel", "xenapi.json"))
MIB = 1024 * 1024
X = None
P = S = None
OBJ = {}            # class -> a live object of it


def vm_record(**kw):
    r = {"name_label": "c", "memory_static_max": str(256 * MIB), "memory_dynamic_max": str(256 * MIB),
         "VCPUs_max": "1", "VCPUs_at_startup": "1", "PV_kernel": "/boot/vmlinuz"}
    r.update(kw)
    return r


def obj(cls):
    if cls not in OBJ:
        rec = {"name_label": "c"}
        if cls == "VM":
            rec = vm_record()
        elif cls == "VDI":
            rec.update(SR=ok(P.SR.get_all(S))[0], virtual_size=str(MIB), type="user")
        OBJ[cls] = ok(getattr(P, cls).create(S, rec))
    return OBJ[cls]


def constrained():
    for c in M.classes:
        for f in c.fields:
            if f.qual == "RW" and c.has("constructor") and (
                    f.min is not None or f.max is not None or f.max_length or f.no_control):
                yield c, f


def bad_values(f):
    """(value sent, value echoed in the error) just outside each bound."""
    out = []
    if f.min is not None:
        out.append((str(f.min - 1), str(f.min - 1)))
    if f.max is not None:
        out.append((str(f.max + 1), str(f.max + 1)))
    if f.max_length:
        out.append(("n" * (f.max_length + 1), ""))
    if f.no_control:
        out.append(("tab\there", ""))
    return out


def good_values(f):
    out = []
    if f.min is not None:
        out.append(str(f.min))
    if f.max is not None:
        out.append(str(f.max))
    if f.max_length:
        out.append("n" * f.max_length)
    return out


def test_setters_refuse_values_outside_the_constraints():
    n = 0
    for c, f in constrained():
        if not any(msg.name == "set_" + f.name for msg in c.messages):
            continue            # omitted setter (cpu_pool.name_description): create is checked below
        o = obj(c.name)
        setter = getattr(getattr(P, c.name), "set_" + f.name)
        for v, echo in bad_values(f):
            ed = fails(setter(S, o, v), "VALUE_NOT_SUPPORTED", "%s.%s" % (c.name, f.name), echo)
            assert len(ed) == 4 and ed[3], ed       # a reason is given
            n += 1
        for v in good_values(f):
            ok(setter(S, o, v))
            assert str(ok(getattr(getattr(P, c.name), "get_" + f.name)(S, o))) == v, (c.name, f.name, v)
    assert n >= 20, n
    # the setter storm of the review: memory and vCPUs -1
    vm = obj("VM")
    for name in ("memory_static_max", "memory_dynamic_max", "memory_dynamic_min", "memory_static_min",
                 "VCPUs_max", "VCPUs_at_startup"):
        fails(getattr(P.VM, "set_" + name)(S, vm, "-1"), "VALUE_NOT_SUPPORTED", "VM." + name, "-1")


def test_create_refuses_values_outside_the_constraints():
    for c, f in constrained():
        for v, echo in bad_values(f):
            if v == "0":
                continue        # create: 0 is the default, "unset" (checked at start instead)
            rec = vm_record(**{f.name: v}) if c.name == "VM" else {f.name: v}
            fails(getattr(P, c.name).create(S, rec), "VALUE_NOT_SUPPORTED", "%s.%s" % (c.name, f.name), echo)
    # a field left out keeps its default (0 = unset), which create accepts
    vm = ok(P.VM.create(S, {"name_label": "defaults"}))
    assert ok(P.VM.get_VCPUs_max(S, vm)) == "0"


def test_orderings_are_checked_at_start():
    vm = ok(P.VM.create(S, vm_record(memory_static_min=str(512 * MIB))))
    fails(P.VM.start(S, vm, False), "MEMORY_CONSTRAINT_VIOLATION")
    assert ok(P.VM.get_power_state(S, vm)) == "Halted"
    vm = ok(P.VM.create(S, vm_record(VCPUs_max="1", VCPUs_at_startup="2")))
    fails(P.VM.start(S, vm, False), "VALUE_NOT_SUPPORTED", "VM.VCPUs_at_startup", "2")
    # 0 is unset and takes its neighbour's value
    vm = ok(P.VM.create(S, vm_record(memory_dynamic_max="0", memory_dynamic_min="0", VCPUs_at_startup="0")))
    ok(P.VM.start(S, vm, False))
    ok(P.VM.hard_shutdown(S, vm))


def test_unsupported_messages_answer_their_error():
    refs = {"VM": obj("VM"), "cpu_pool": obj("cpu_pool")}
    n = 0
    for c in M.classes:
        for msg in c.messages:
            if not msg.unsupported:
                continue
            args = []
            for _, t in msg.params:
                if t.kind == "ref":
                    if t.name not in refs:
                        break
                    args.append(refs[t.name])
                else:
                    args.append(M.enums[t.name][0] if t.kind == "enum" else {"int": "0", "bool": False}.get(t.kind, "x"))
            else:
                ed = fails(getattr(getattr(P, c.name), msg.name)(S, *args), *msg.unsupported)
                assert len(ed) == len(msg.unsupported), ed
                n += 1
    assert n >= 10, n


if __name__ == "__main__":
    X = Xend(pam=False)
    try:
        X.start()
        P = X.unix_proxy()
        S = ok(P.session.login_with_password("", ""))
        run([test_setters_refuse_values_outside_the_constraints, test_create_refuses_values_outside_the_constraints,
             test_orderings_are_checked_at_start, test_unsupported_messages_answer_their_error])
    finally:
        X.cleanup()
