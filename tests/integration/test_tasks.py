#!/usr/bin/python3
"""Async calls and tasks over real sockets: the task record through success
and failure, early failures that make no task, privacy to the owning
session, task.destroy, task.cancel (queued, running and cancellable, running
and not cancellable, finished), expiry and logout."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, Xend, ok, fails, run  # noqa: E402

X = None        # task-expiry = 4
SLOW = None     # one worker; every Async call first works 1.5 s (XEND_TEST_TASK_DELAY_MS)
DELAY = 1.5


def wait_done(p, s, task, timeout=DEADLINE):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rec = ok(p.task.get_record(s, task))
        if rec["status"] not in ("pending", "cancelling"):
            return rec
        time.sleep(0.05)
    raise AssertionError("task %s still %s" % (task, rec["status"]))


def test_async_success_record():
    p = X.proxy()
    s = X.login(p)
    t0 = time.time()
    task = ok(p.Async.VM.create(s, {"name_label": "async-ok"}))
    assert len(task) == 36
    rec = wait_done(p, s, task)
    vm = rec["result"]
    assert rec["status"] == "success", rec
    assert ok(p.VM.get_name_label(s, vm)) == "async-ok"
    assert rec["uuid"] == task
    assert rec["progress"] == "100"
    assert rec["type"] == "VM"
    assert rec["error_info"] == []
    assert rec["name_label"] == "VM.create"
    assert rec["session"] == s
    assert rec["allowed_operations"] == []
    assert rec["created"].value <= rec["finished"].value
    assert time.time() - t0 < 5
    assert task in ok(p.task.get_all(s))
    assert task in ok(p.task.get_by_name_label(s, "VM.create"))
    # a result that is not a string: its XML-RPC value, as XAPI does
    task = ok(p.Async.VM.get_record(s, vm))
    rec = wait_done(p, s, task)
    assert rec["status"] == "success" and rec["type"] == ""
    assert rec["result"].startswith("<value><struct>") and "async-ok" in rec["result"], rec["result"]


def test_async_failure_record():
    p = X.proxy()
    s = X.login(p)
    task = ok(p.Async.debug.return_failure(s))
    rec = wait_done(p, s, task)
    assert rec["status"] == "failure", rec
    assert rec["error_info"][0] == "INTERNAL_ERROR", rec
    assert rec["result"] == "" and rec["progress"] == "100"
    # a VM that is not Halted cannot start: the task fails with the reason
    vm = ok(p.VM.create(s, {"name_label": "async-bad-state", "memory_static_max": "268435456",
                            "memory_dynamic_max": "268435456", "memory_dynamic_min": "134217728",
                            "memory_static_min": "134217728", "VCPUs_max": "1", "VCPUs_at_startup": "1",
                            "PV_kernel": "/boot/vmlinuz-test"}))
    ok(p.VM.start(s, vm, False))
    task = ok(p.Async.VM.start(s, vm, False))
    rec = wait_done(p, s, task)
    assert rec["status"] == "failure", rec
    assert rec["error_info"] == ["VM_BAD_POWER_STATE", vm, "Halted", "Running"], rec
    ok(p.VM.hard_shutdown(s, vm))


def test_async_fails_before_a_task_exists():
    p = X.proxy()
    s = X.login(p)
    before = set(ok(p.task.get_all(s)))
    fails(p.Async.VM.create("no-session", {}), "SESSION_INVALID", "no-session")
    fails(p.Async.VM.create(s), "MESSAGE_PARAMETER_COUNT_MISMATCH", "Async.VM.create", "2", "1")
    fails(p.Async.VM.destroy(s, "no-such-vm"), "HANDLE_INVALID", "VM", "no-such-vm")
    fails(p.Async.task.cancel(s, "x"), "MESSAGE_METHOD_UNKNOWN", "Async.task.cancel")
    assert set(ok(p.task.get_all(s))) == before


def test_tasks_private_to_their_session():
    p = X.proxy()
    a, b = X.login(p), X.login(p)
    task = ok(p.Async.VM.create(a, {"name_label": "private"}))
    wait_done(p, a, task)
    assert task not in ok(p.task.get_all(b))
    assert task not in ok(p.task.get_all_records(b))
    assert task not in ok(p.task.get_by_name_label(b, "VM.create"))
    fails(p.task.get_record(b, task), "PERMISSION_DENIED")
    fails(p.task.get_status(b, task), "PERMISSION_DENIED")
    fails(p.task.get_by_uuid(b, task), "PERMISSION_DENIED")
    fails(p.task.cancel(b, task), "PERMISSION_DENIED")
    fails(p.task.destroy(b, task), "PERMISSION_DENIED")
    assert task in ok(p.task.get_all_records(a))


def test_destroy_only_finished():
    p = X.proxy()
    s = X.login(p)
    ok(p.event.register(s, ["SR"]))
    task = ok(p.Async.event.next(s))         # pending until an SR changes
    time.sleep(0.2)
    fails(p.task.destroy(s, task), "OPERATION_NOT_ALLOWED")
    assert ok(p.task.get_status(s, task)) == "pending"
    ok(p.task.cancel(s, task))
    assert wait_done(p, s, task)["status"] == "cancelled"
    ok(p.task.destroy(s, task))
    fails(p.task.get_record(s, task), "HANDLE_INVALID", "task", task)
    done = ok(p.Async.VM.create(s, {"name_label": "destroy-me"}))
    wait_done(p, s, done)
    ok(p.task.destroy(s, done))
    assert done not in ok(p.task.get_all(s))


def test_cancel_queued_running_and_finished():
    p = SLOW.proxy()
    s = SLOW.login(p)
    n_vms = len(ok(p.VM.get_all(s)))
    a = ok(p.Async.VM.create(s, {"name_label": "runs"}))
    time.sleep(0.3)
    b = ok(p.Async.VM.create(s, {"name_label": "never-runs"}))
    # a runs (one worker) and cannot stop; b waits in the queue
    ra, rb = ok(p.task.get_record(s, a)), ok(p.task.get_record(s, b))
    assert ra["status"] == "pending" and ra["allowed_operations"] == [], ra
    assert rb["status"] == "pending" and rb["allowed_operations"] == ["Cancel"], rb
    fails(p.task.cancel(s, a), "OPERATION_NOT_ALLOWED")
    ok(p.task.cancel(s, b))
    rb = ok(p.task.get_record(s, b))
    assert rb["status"] == "cancelled" and rb["error_info"] == ["TASK_CANCELLED", b], rb
    assert rb["allowed_operations"] == []
    ra = wait_done(p, s, a)
    assert ra["status"] == "success"
    time.sleep(DELAY + 0.5)                  # b would have run by now
    assert ok(p.task.get_status(s, b)) == "cancelled"
    names = [ok(p.VM.get_name_label(s, v)) for v in ok(p.VM.get_all(s))]
    assert "runs" in names and "never-runs" not in names, names
    assert len(names) == n_vms + 1
    # finished tasks cannot be cancelled
    fails(p.task.cancel(s, a), "OPERATION_NOT_ALLOWED")
    fails(p.task.cancel(s, b), "OPERATION_NOT_ALLOWED")


def test_cancel_running_cancellable():
    """Async.event.next waits without a thread and can be cancelled while it runs."""
    p = SLOW.proxy()
    s = SLOW.login(p)
    ok(p.event.register(s, ["SR"]))
    task = ok(p.Async.event.next(s))
    # allowed_operations goes [Cancel] (queued) -> [] (started: DELAY of
    # uncancellable work) -> [Cancel] (waiting for events, cancel hook set):
    # wait for the last, after having seen the task start, so the cancel
    # below is one of a running call and not of a queued one
    deadline = time.time() + DELAY + DEADLINE
    started = False
    while time.time() < deadline:
        ops = ok(p.task.get_allowed_operations(s, task))
        started = started or ops == []
        if started and ops == ["Cancel"] and ok(p.task.get_status(s, task)) == "pending":
            break
        time.sleep(0.05)
    assert started, "the task was never seen running (its uncancellable start lasts %s s)" % DELAY
    rec = ok(p.task.get_record(s, task))
    assert rec["allowed_operations"] == ["Cancel"], rec
    ok(p.task.cancel(s, task))
    rec = wait_done(p, s, task)
    assert rec["status"] == "cancelled", rec
    assert rec["error_info"] == ["TASK_CANCELLED", task]
    # the session's subscription still works
    t2 = ok(p.Async.event.next(s))
    time.sleep(DELAY + 0.3)
    ok(p.task.cancel(s, t2))
    assert wait_done(p, s, t2)["status"] == "cancelled"


def test_progress_and_task_events():
    """The owner sees its task as events: event.next every change (add, then
    mods up to success), event.from one coalesced add of its latest state."""
    p = X.proxy()
    s = X.login(p)
    ok(p.event.register(s, ["task"]))
    tok = ok(getattr(p.event, "from")(s, ["task"], "", 1.0))["token"]
    task = ok(p.Async.VM.create(s, {"name_label": "evented"}))
    wait_done(p, s, task)
    b = ok(getattr(p.event, "from")(s, ["task"], tok, 2.0))
    mine = [e for e in b["events"] if e["ref"] == task]
    assert len(mine) == 1 and mine[0]["operation"] == "add", mine
    assert mine[0]["snapshot"]["status"] == "success" and mine[0]["snapshot"]["progress"] == "100", mine
    mine = [e for e in ok(p.event.next(s)) if e["ref"] == task]
    assert mine[0]["operation"] == "add" and mine[0]["snapshot"]["status"] == "pending", mine
    assert mine[-1]["operation"] == "mod" and mine[-1]["snapshot"]["status"] == "success"
    assert mine[-1]["snapshot"]["progress"] == "100"


def test_expiry():
    p = X.proxy()
    s = X.login(p)
    task = ok(p.Async.VM.create(s, {"name_label": "expires"}))
    wait_done(p, s, task)
    t_done = time.time()
    deadline = t_done + 12
    while time.time() < deadline:
        r = p.task.get_status(s, task)
        if r["Status"] != "Success":
            break
        time.sleep(0.2)
    fails(r, "HANDLE_INVALID", "task", task)
    gone_after = time.time() - t_done
    assert 3.5 <= gone_after <= 8.5, gone_after     # task-expiry = 4, checked every ~2 s


def test_logout_removes_finished_tasks():
    p = X.proxy()
    a, b = X.login(p), X.login(p)
    task = ok(p.Async.VM.create(a, {"name_label": "logout"}))
    wait_done(p, a, task)
    fails(p.task.get_record(b, task), "PERMISSION_DENIED")   # exists, not b's
    ok(p.session.logout(a))
    fails(p.task.get_record(b, task), "HANDLE_INVALID", "task", task)


if __name__ == "__main__":
    X = Xend(pam=False, conf=["task-expiry = 4"]).start()
    os.environ["XEND_TEST_TASK_DELAY_MS"] = str(int(DELAY * 1000))
    try:
        SLOW = Xend(pam=False, conf=["workers = 1"]).start()
    finally:
        del os.environ["XEND_TEST_TASK_DELAY_MS"]
    try:
        run([test_async_success_record, test_async_failure_record, test_async_fails_before_a_task_exists,
             test_tasks_private_to_their_session, test_destroy_only_finished,
             test_cancel_queued_running_and_finished, test_cancel_running_cancellable,
             test_progress_and_task_events, test_expiry, test_logout_removes_finished_tasks])
    finally:
        X.cleanup()
        SLOW.cleanup()
