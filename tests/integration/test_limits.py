#!/usr/bin/python3
"""Bounds that keep memory from following what clients do (docs/security.md
"Limits"), on the real daemon: the event log holds at most event-log-bytes of
records (the oldest go first; a subscriber behind them gets EVENTS_LOST), and
at most max-finished-tasks finished tasks are kept (the oldest destroyed first)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, fails, new_vm, ok, run, wait_until  # noqa: E402



def test_event_log_bytes():
    with Xend(pam=False, conf=["event-log-bytes = 64K"]) as x:
        p = x.proxy()
        s = x.login(p)
        vm = new_vm(p, s, "big records")
        ok(p.event.register(s, ["vm"]))
        ok(p.VM.set_name_description(s, vm, "small"))
        evs = ok(p.event.next(s))
        assert any(e["class"].lower() == "vm" and e["ref"] == vm for e in evs), evs
        # 200 changes of a record of about 2 KiB: 400 KiB, six times the bound;
        # the subscriber did not read them and falls behind
        for i in range(200):
            ok(p.VM.set_name_description(s, vm, ("%03d" % i) * 333))
        fails(p.event.next(s), "EVENTS_LOST")
        # a fresh subscription works, and sees the newest record
        ok(p.event.unregister(s, ["vm"]))
        ok(p.event.register(s, ["vm"]))
        ok(p.VM.set_name_description(s, vm, "after"))
        evs = ok(p.event.next(s))
        assert evs and evs[-1]["snapshot"]["name_description"] == "after", evs[-1:]
        # with event.from, a token older than what is held is refused the same way
        tok = ok(getattr(p.event, "from")(s, ["vm"], "", 0.0))["token"]
        for i in range(200):
            ok(p.VM.set_name_description(s, vm, ("%03d" % i) * 333))
        fails(getattr(p.event, "from")(s, ["vm"], tok, 0.0), "EVENTS_LOST")
        log = open(x.log).read()
        assert "65536 bytes" in log, "the bound is logged at start"


def test_max_finished_tasks():
    with Xend(pam=False, conf=["max-finished-tasks = 5"]) as x:
        p = x.proxy()
        s = x.login(p)
        vm = new_vm(p, s, "tasks")
        tasks = []
        for _ in range(12):
            t = ok(p.Async.VM.get_record(s, vm))
            wait_until(lambda: ok(p.task.get_status(s, t)) != "pending", "the task ends")
            tasks.append(t)
        left = ok(p.task.get_all(s))
        assert sorted(left) == sorted(tasks[-5:]), (left, tasks)
        for t in tasks[:-5]:
            fails(p.task.get_record(s, t), "HANDLE_INVALID")
        # destroying one makes room: the next finished task does not push another out
        ok(p.task.destroy(s, tasks[-1]))
        t = ok(p.Async.VM.get_record(s, vm))
        wait_until(lambda: ok(p.task.get_status(s, t)) != "pending", "the task ends")
        assert sorted(ok(p.task.get_all(s))) == sorted(tasks[-5:-1] + [t])


def main():
    run([test_event_log_bytes, test_max_finished_tasks])


if __name__ == "__main__":
    main()
