#!/usr/bin/python3
"""Events over real sockets: API 1.0 event.register/next/unregister and XAPI
event.from/inject/get_current_id; ordering, completeness, snapshots taken at
event time, case-insensitive classes, EVENTS_LOST beyond the log's bound,
long-poll wake-up, timeouts, logout waking waiters, privacy of task events."""
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, Xend, ok, fails, run  # noqa: E402

X = None        # default event log
SMALL = None    # event-log-size = 50


def tokid(token):
    """The event id in an event.from token ("<id>,<message generation>")."""
    return int(token.split(",")[0])


def ev_from(p, *args):
    return getattr(p.event, "from")(*args)


def new_vm(p, s, name):
    return ok(p.VM.create(s, {"name_label": name}))


def next_until(p, s, pred, rounds=20):
    """event.next until pred(all events so far) holds; returns them."""
    got = []
    for _ in range(rounds):
        got += ok(p.event.next(s))
        if pred(got):
            return got
    raise AssertionError("condition never met; got %r" % [(e["class"], e["operation"]) for e in got])


class Blocked(threading.Thread):
    """Run one call on its own connection; remember result and timing."""

    def __init__(self, xend, fn):
        super().__init__(daemon=True)
        self.p = xend.proxy()
        self.fn = fn
        self.result = None
        self.error = None
        self.t_end = None

    def run(self):
        try:
            self.result = self.fn(self.p)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        self.t_end = time.time()


def test_next_requires_register():
    p = X.proxy()
    s = X.login(p)
    fails(p.event.next(s), "SESSION_NOT_REGISTERED", s)
    # register with no known class: still not registered
    ok(p.event.register(s, ["no_such_class"]))
    fails(p.event.next(s), "SESSION_NOT_REGISTERED", s)


def test_order_completeness_and_snapshots():
    p = X.proxy()
    s = X.login(p)
    ok(p.event.register(s, ["VM"]))
    vms = [new_vm(p, s, "ord-%d" % i) for i in range(3)]
    for i in range(5):
        ok(p.VM.set_name_label(s, vms[0], "renamed-%d" % i))
    ok(p.VM.destroy(s, vms[2]))
    mine = set(vms)
    evs = next_until(p, s, lambda g: sum(e["ref"] in mine for e in g) >= 9)
    ids = [int(e["id"]) for e in evs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    evs = [e for e in evs if e["ref"] in mine]
    assert [(e["ref"], e["operation"]) for e in evs] == \
        [(v, "add") for v in vms] + [(vms[0], "mod")] * 5 + [(vms[2], "del")], evs
    for e in evs:
        assert e["class"] == "VM", e
        assert e["obj_uuid"] == e["ref"]
        assert e["snapshot"]["uuid"] == e["ref"]
        assert e["timestamp"].value[:2] == "20", e["timestamp"]
    # each snapshot is the record as it was when the event happened
    assert [e["snapshot"]["name_label"] for e in evs[3:8]] == ["renamed-%d" % i for i in range(5)]
    # del carries the last record
    assert evs[8]["snapshot"]["name_label"] == "ord-2"
    # nothing else queued: next blocks (checked with a short-lived thread)
    t = Blocked(X, lambda q: q.event.next(s))
    t.start()
    t.join(0.5)
    assert t.is_alive(), "event.next returned without an event: %r" % (t.result,)
    ok(p.VM.set_name_label(s, vms[1], "wake"))
    t.join(5)
    assert not t.is_alive()
    assert [e["snapshot"]["name_label"] for e in ok(t.result)] == ["wake"]


def test_class_names_case_insensitive():
    p = X.proxy()
    a, b, c = X.login(p), X.login(p), X.login(p)
    ok(p.event.register(a, ["vm"]))
    ok(p.event.register(b, ["Vm"]))
    ok(p.event.register(c, ["network"]))
    vm = new_vm(p, a, "case")
    net = ok(p.network.create(a, {"name_label": "case-net"}))
    for s in (a, b):
        evs = next_until(p, s, lambda g: any(e["ref"] == vm for e in g))
        assert all(e["class"] == "VM" for e in evs), evs
    evs = next_until(p, c, lambda g: any(e["ref"] == net for e in g))
    assert all(e["class"] == "network" for e in evs), evs
    # event.from: "VM" and "vm" alike; XAPI spells the class in lower case
    tok = ok(ev_from(p, a, ["VM"], "", 1.0))["token"]
    ok(p.VM.set_name_label(a, vm, "case2"))
    batch = ok(ev_from(p, a, ["vM"], tok, 5.0))
    assert [(e["class"], e["ref"], e["operation"]) for e in batch["events"]] == [("vm", vm, "mod")], batch


def test_empty_list_means_all_and_unregister_removes():
    p = X.proxy()
    s = X.login(p)
    ok(p.event.register(s, []))
    vm = new_vm(p, s, "all")
    net = ok(p.network.create(s, {"name_label": "all-net"}))
    evs = next_until(p, s, lambda g: {vm, net} <= {e["ref"] for e in g})
    assert {"VM", "network"} <= {e["class"] for e in evs}
    # unregister removes exactly the given classes (xend kept the intersection)
    ok(p.event.unregister(s, ["VM"]))
    ok(p.VM.set_name_label(s, vm, "all-2"))
    ok(p.network.set_name_label(s, net, "all-net-2"))
    evs = next_until(p, s, lambda g: any(e["ref"] == net for e in g))
    assert "VM" not in {e["class"] for e in evs}, evs
    # unregistering everything: not registered any more
    ok(p.event.unregister(s, []))
    fails(p.event.next(s), "SESSION_NOT_REGISTERED", s)


def test_long_poll_wakes_on_change_from_another_client():
    p = X.proxy()
    s, writer = X.login(p), X.login(p)
    vm = new_vm(p, writer, "lp")
    ok(p.event.register(s, ["VM"]))
    waiters = [Blocked(X, lambda q: q.event.next(s))]
    # other sessions waiting on the same class wake too; one on another class does not
    others = []
    for _ in range(10):
        o = X.login(p)
        ok(p.event.register(o, ["VM"]))
        others.append(Blocked(X, lambda q, o=o: q.event.next(o)))
    quiet = X.login(p)
    ok(p.event.register(quiet, ["SR"]))
    quiet_t = Blocked(X, lambda q: q.event.next(quiet))
    for t in waiters + others + [quiet_t]:
        t.start()
    time.sleep(0.5)
    assert all(t.is_alive() for t in waiters + others), "a waiter returned early"
    t_change = time.time()
    ok(p.VM.set_name_label(writer, vm, "lp-2"))
    for t in waiters + others:
        t.join(5)
        assert not t.is_alive(), "event.next did not wake"
        evs = ok(t.result)
        assert [(e["ref"], e["operation"]) for e in evs] == [(vm, "mod")], evs
        assert t.t_end - t_change < 2.0
    assert quiet_t.is_alive(), "a waiter on SR woke for a VM change"
    ok(p.session.logout(quiet))
    quiet_t.join(5)
    fails(quiet_t.result, "SESSION_INVALID", quiet)


def test_from_timeout_returns_empty_with_token():
    p = X.proxy()
    s = X.login(p)
    tok = ok(ev_from(p, s, ["VM"], "", 1.0))["token"]
    t0 = time.time()
    b = ok(ev_from(p, s, ["VM"], tok, 0.5))
    el = time.time() - t0
    assert 0.45 <= el < 2.0, el
    assert b["events"] == [] and b["token"] and b["token"] >= tok, b
    assert set(b.keys()) == {"events", "valid_ref_counts", "token"}
    # timeout 0: answer at once
    t0 = time.time()
    b = ok(ev_from(p, s, ["VM"], tok, 0.0))
    assert b["events"] == [] and time.time() - t0 < 0.4


def test_from_tokens():
    p = X.proxy()
    s = X.login(p)
    vm = new_vm(p, s, "tok")
    b = ok(ev_from(p, s, ["*"], "", 5.0))
    adds = {e["ref"]: e for e in b["events"]}
    assert vm in adds and adds[vm]["operation"] == "add" and adds[vm]["class"] == "vm"
    assert adds[vm]["snapshot"]["name_label"] == "tok"
    assert {e["operation"] for e in b["events"]} == {"add"}
    # XAPI's int32 counts (<i4>), which Xen Orchestra compares with numbers
    assert b["valid_ref_counts"]["vm"] == len(ok(p.VM.get_all(s)))
    assert b["valid_ref_counts"]["host"] == 1
    # XAPI's token: "<20 digits>,<20 digits>", comparable as strings
    assert re.fullmatch(r"\d{20},\d{20}", b["token"]), b["token"]
    assert "session" not in {e["class"] for e in b["events"]}
    tok = b["token"]
    ok(p.VM.set_name_label(s, vm, "tok-1"))
    ok(p.VM.set_name_label(s, vm, "tok-2"))
    b1 = ok(ev_from(p, s, ["vm"], tok, 5.0))
    evs = [e for e in b1["events"] if e["ref"] == vm]
    # one event per object per answer, of its latest state
    assert [e["operation"] for e in evs] == ["mod"] and evs[0]["snapshot"]["name_label"] == "tok-2", b1
    ok(p.VM.set_name_label(s, vm, "tok-3"))
    ok(p.VM.destroy(s, vm))
    b2 = ok(ev_from(p, s, ["vm"], b1["token"], 5.0))
    evs = [e for e in b2["events"] if e["ref"] == vm]
    assert [e["operation"] for e in evs] == ["del"], b2
    assert b2["token"] > tok
    # created and destroyed between two calls: no event at all
    gone = new_vm(p, s, "ephemeral")
    ok(p.VM.set_name_label(s, gone, "ephemeral-2"))
    ok(p.VM.destroy(s, gone))
    b3 = ok(ev_from(p, s, ["vm"], b2["token"], 0.2))
    assert all(e["ref"] != gone for e in b3["events"]), b3
    # nothing new after the returned token
    b3 = ok(ev_from(p, s, ["vm"], b3["token"], 0.2))
    assert b3["events"] == [] and b3["token"] >= b2["token"], b3
    # a waiting event.from wakes on a change
    t = Blocked(X, lambda q: ev_from(q, s, ["VM"], b3["token"], 30.0))
    t.start()
    time.sleep(0.3)
    assert t.is_alive()
    vm2 = new_vm(p, s, "tok-3")
    t.join(5)
    assert not t.is_alive()
    assert [(e["ref"], e["operation"]) for e in ok(t.result)["events"]] == [(vm2, "add")]
    # a token that is not one
    for bad in ("bogus", "1,", ",1", "1,2,3", "-1"):
        fails(ev_from(p, s, ["vm"], bad, 0.1), "EVENT_FROM_TOKEN_PARSE_FAILURE", bad)
    # a token from the future (another run of the daemon): re-sync
    fails(ev_from(p, s, ["vm"], "%020d,%020d" % (tokid(b2["token"]) + 10**9, 0), 0.1), "EVENTS_LOST")
    # a bare id, as earlier xend versions gave, is still a token
    assert ok(ev_from(p, s, ["vm"], str(tokid(b3["token"])), 0.0))["events"] is not None


def test_from_object_subscriptions():
    p = X.proxy()
    s = X.login(p)
    a, b = new_vm(p, s, "sub-a"), new_vm(p, s, "sub-b")
    # "class/ref" (either ref form, any class case) follows one object
    r = ok(ev_from(p, s, ["VM/" + a], "", 1.0))
    assert [e["ref"] for e in r["events"]] == [a], r["events"]
    tok = r["token"]
    ok(p.VM.set_name_label(s, b, "sub-b2"))
    ok(p.VM.set_name_label(s, a, "sub-a2"))
    r = ok(ev_from(p, s, ["vm/OpaqueRef:" + a], tok, 5.0))
    assert [(e["ref"], e["snapshot"]["name_label"]) for e in r["events"]] == [(a, "sub-a2")], r["events"]
    # a waiter on one object does not wake for another of its class
    t = Blocked(X, lambda q: ev_from(q, s, ["vm/" + a], r["token"], 30.0))
    t.start()
    ok(p.VM.set_name_label(s, b, "sub-b3"))
    time.sleep(0.5)
    assert t.is_alive(), "woke for another VM"
    ok(p.VM.set_name_label(s, a, "sub-a3"))
    t.join(5)
    assert [e["ref"] for e in ok(t.result)["events"]] == [a]
    # unknown classes match nothing; an empty class or ref is a parse failure
    assert ok(ev_from(p, s, ["no_such_class", "nope/x"], "", 1.0))["events"] == []
    for bad in ("vm/", "/x", ""):
        fails(ev_from(p, s, [bad], "", 1.0), "EVENT_SUBSCRIPTION_PARSE_FAILURE", bad)


def test_inject_and_current_id():
    p = X.proxy()
    s = X.login(p)
    vm = new_vm(p, s, "inj")
    cur = int(ok(p.event.get_current_id(s)))
    tok = ok(ev_from(p, s, ["vm"], "", 1.0))["token"]
    assert tokid(tok) >= cur
    t = ok(p.event.inject(s, "vm", vm))
    assert t >= tok
    assert int(ok(p.event.get_current_id(s))) > tokid(t)
    b = ok(ev_from(p, s, ["VM"], tok, 5.0))
    inj = [e for e in b["events"] if e["ref"] == vm]
    assert len(inj) == 1 and inj[0]["operation"] == "mod" and int(inj[0]["id"]) == tokid(t) + 1, b
    # the token inject returns is just before its event (XAPI): event.from
    # with it returns that event, so a client starting there misses nothing
    b = ok(ev_from(p, s, ["VM"], t, 0.1))
    assert [e["ref"] for e in b["events"]] == [vm], b
    b = ok(ev_from(p, s, ["VM"], b["token"], 0.1))
    assert b["events"] == []
    # even for a class nobody followed when it was injected
    t = ok(p.event.inject(s, "host", ok(p.host.get_all(s))[0]))
    b = ok(ev_from(p, s, ["host"], t, 1.0))
    assert [e["operation"] for e in b["events"]] == ["mod"] and b["events"][0]["snapshot"]["uuid"], b
    fails(p.event.inject(s, "VM", "no-such-vm"), "HANDLE_INVALID", "VM", "no-such-vm")
    fails(p.event.inject(s, "nope", vm), "HANDLE_INVALID", "nope", vm)


def both_waiters(x, p, s, classes):
    """Session s registers for classes, then waits on them twice, each in its own
    started thread: in event.next and in event.from (60 s) from the current token."""
    ok(p.event.register(s, classes))
    tok = ok(ev_from(p, s, classes, "", 1.0))["token"]
    tn = Blocked(x, lambda q: q.event.next(s))
    tf = Blocked(x, lambda q: ev_from(q, s, classes, tok, 60.0))
    tn.start()
    tf.start()
    return tn, tf


def test_logout_wakes_waiters():
    p = X.proxy()
    s = X.login(p)
    tn, tf = both_waiters(X, p, s, ["VM"])
    time.sleep(0.5)
    assert tn.is_alive() and tf.is_alive()
    t0 = time.time()
    ok(X.proxy().session.logout(s))
    for t in (tn, tf):
        t.join(5)
        assert not t.is_alive(), "logout did not wake a waiter"
        fails(t.result, "SESSION_INVALID", s)
        assert t.t_end - t0 < 2.0


def test_task_events_private_to_owner():
    p = X.proxy()
    a, b = X.login(p), X.login(p)
    ta = ok(ev_from(p, a, ["task"], "", 1.0))["token"]
    tb = ok(ev_from(p, b, ["task"], "", 1.0))["token"]
    task = ok(p.Async.VM.create(a, {"name_label": "tev"}))
    deadline = time.time() + DEADLINE
    seen = []
    while time.time() < deadline:
        r = ok(ev_from(p, a, ["task"], ta, 5.0))
        ta = r["token"]
        seen += [e for e in r["events"] if e["ref"] == task]
        if seen and seen[-1]["snapshot"]["status"] == "success":
            break
    assert seen[0]["operation"] == "add" and seen[-1]["snapshot"]["status"] == "success", seen
    assert r["valid_ref_counts"]["task"] >= 1
    rb = ok(ev_from(p, b, ["task"], tb, 0.3))
    assert rb["events"] == [], rb
    assert rb["valid_ref_counts"]["task"] == 0
    # b registered for everything sees nothing of a's task either
    ok(p.event.register(b, []))
    ok(p.Async.VM.create(a, {"name_label": "tev2"}))
    t = Blocked(X, lambda q: q.event.next(b))
    t.start()
    t.join(1.0)
    if not t.is_alive():
        assert all(e["class"] != "task" for e in ok(t.result)), t.result
    ok(p.session.logout(b))
    t.join(5)


def test_async_event_next():
    p = X.proxy()
    s = X.login(p)
    ok(p.event.register(s, ["network"]))
    task = ok(p.Async.event.next(s))
    time.sleep(0.3)
    assert ok(p.task.get_status(s, task)) == "pending"
    net = ok(p.network.create(s, {"name_label": "async-next"}))
    deadline = time.time() + DEADLINE
    while ok(p.task.get_status(s, task)) == "pending" and time.time() < deadline:
        time.sleep(0.05)
    rec = ok(p.task.get_record(s, task))
    assert rec["status"] == "success", rec
    assert net in rec["result"] and rec["result"].startswith("<value><array>"), rec["result"]


def test_events_lost_beyond_bound():
    p = SMALL.proxy()
    s, w = SMALL.login(p), SMALL.login(p)
    vm = new_vm(p, w, "lost")
    ok(p.event.register(s, ["VM"]))
    tok = ok(ev_from(p, s, ["VM"], "", 1.0))["token"]
    # within the bound: complete and in order
    for i in range(40):
        ok(p.VM.set_name_label(w, vm, "in-%d" % i))
    evs = next_until(p, s, lambda g: len(g) >= 40)
    assert [e["snapshot"]["name_label"] for e in evs] == ["in-%d" % i for i in range(40)]
    b = ok(ev_from(p, s, ["VM"], tok, 1.0))
    assert [e["snapshot"]["name_label"] for e in b["events"]] == ["in-39"]     # coalesced
    tok = b["token"]
    # beyond it: EVENTS_LOST, until the subscriber re-syncs
    for i in range(60):
        ok(p.VM.set_name_label(w, vm, "out-%d" % i))
    fails(p.event.next(s), "EVENTS_LOST")
    fails(p.event.next(s), "EVENTS_LOST")
    fails(ev_from(p, s, ["VM"], tok, 0.1), "EVENTS_LOST")
    ok(p.event.register(s, ["VM"]))              # re-sync (1.0)
    b = ok(ev_from(p, s, ["VM"], "", 1.0))       # re-sync (event.from)
    assert [e["snapshot"]["name_label"] for e in b["events"] if e["ref"] == vm] == ["out-59"]
    ok(p.VM.set_name_label(w, vm, "after"))
    assert [e["snapshot"]["name_label"] for e in ok(p.event.next(s))] == ["after"]
    assert [e["snapshot"]["name_label"] for e in ok(ev_from(p, s, ["VM"], b["token"], 1.0))["events"]] == ["after"]


def test_quiet_waiter_does_not_fall_behind():
    """A waiter on a class that does not change survives many other events."""
    p = SMALL.proxy()
    s, w = SMALL.login(p), SMALL.login(p)
    vm = new_vm(p, w, "busy")
    tn, tf = both_waiters(SMALL, p, s, ["network"])
    time.sleep(0.3)
    for i in range(120):                          # more than the log holds
        ok(p.VM.set_name_label(w, vm, "b-%d" % i))
    assert tn.is_alive() and tf.is_alive()
    net = ok(p.network.create(w, {"name_label": "finally"}))
    for t in (tn, tf):
        t.join(5)
        assert not t.is_alive()
    assert [e["ref"] for e in ok(tn.result)] == [net], tn.result
    assert [e["ref"] for e in ok(tf.result)["events"]] == [net], tf.result


if __name__ == "__main__":
    X = Xend(pam=False).start()
    SMALL = Xend(pam=False, conf=["event-log-size = 50"]).start()
    try:
        run([test_next_requires_register, test_order_completeness_and_snapshots,
             test_class_names_case_insensitive, test_empty_list_means_all_and_unregister_removes,
             test_long_poll_wakes_on_change_from_another_client, test_from_timeout_returns_empty_with_token,
             test_from_tokens, test_from_object_subscriptions, test_inject_and_current_id, test_logout_wakes_waiters,
             test_task_events_private_to_owner, test_async_event_next, test_events_lost_beyond_bound,
             test_quiet_waiter_does_not_fall_behind])
    finally:
        X.cleanup()
        SMALL.cleanup()
