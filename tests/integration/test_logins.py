#!/usr/bin/python3
"""Logins under abuse, over real sockets with real PAM: failures are logged
once with their source and answered after a back-off that doubles; logins
waiting out a back-off hold no thread (a correct login and other calls are
answered meanwhile, with one worker and one password checker); sessions
expire when idle and are limited per user and per originator (XAPI's
groups); the 3- and 4-parameter login is accepted."""
import http.client
import os
import sys
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, fails, ok, run, wait_until  # noqa: E402

A = B = C = None


def call_from(x, source, method, *params, timeout=120):
    """One XML-RPC call over a fresh connection from the loopback address source."""
    c = http.client.HTTPConnection("127.0.0.1", x.port, timeout=timeout, source_address=(source, 0))
    c.request("POST", "/", xmlrpc.client.dumps(params, method), {"Content-Type": "text/xml"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return xmlrpc.client.loads(data)[0][0]


def log_lines(x, needle):
    with open(x.log, errors="replace") as f:
        return [line for line in f if needle in line]


def test_failures_are_logged_once_and_backed_off():
    secret = "wrong-secret-%d" % os.getpid()
    t0 = time.time()
    for _ in range(3):
        fails(call_from(A, "127.0.0.3", "session.login_with_password", "ghost", secret),
              "SESSION_AUTHENTICATION_FAILED")
    # 400 ms, then 800 ms, then 1600 ms before each answer (a lower bound only)
    assert time.time() - t0 >= 2.6, time.time() - t0
    lines = log_lines(A, "login from 127.0.0.3 failed")
    assert len(lines) == 3, lines
    for n, line in enumerate(lines, 1):
        assert "failure %d from there" % n in line, line
        assert "ghost" in line, line
    assert not log_lines(A, secret), "a password reached the log"


def test_three_and_four_parameter_logins():
    for extra in ((), ("1.1",), ("1.1", "test-originator")):
        s = ok(call_from(A, "127.0.0.1", "session.login_with_password", A.username, A.password, *extra))
        ok(call_from(A, "127.0.0.1", "session.logout", s))


def test_sessions_limited_per_user():
    # sessions-per-user = 2: the least recently active goes
    ss = [ok(call_from(A, "127.0.0.1", "session.login_with_password", A.username, A.password))
          for _ in range(3)]
    fails(call_from(A, "127.0.0.1", "host.get_all", ss[0]), "SESSION_INVALID")
    for s in ss[1:]:
        ok(call_from(A, "127.0.0.1", "host.get_all", s))
    assert log_lines(A, "is at its limit of 2 sessions")


def test_waiting_logins_hold_no_thread():
    # B: one worker, one password checker, a 60 s back-off
    first = threading.Thread(target=lambda: call_from(B, "127.0.0.2", "session.login_with_password",
                                                      "root", "wrong"))
    first.start()
    wait_until(lambda: log_lines(B, "login from 127.0.0.2 failed"), "the first failure")
    answers = []

    def attacker():
        try:
            answers.append(call_from(B, "127.0.0.2", "session.login_with_password", "root", "wrong"))
        except (OSError, http.client.HTTPException, xmlrpc.client.Error) as e:
            answers.append(e)     # the daemon stopped with it still held
    held = [threading.Thread(target=attacker) for _ in range(20)]
    for t in held:
        t.start()
    # 16 wait out the back-off; the 4 beyond that are refused without a check
    wait_until(lambda: len(log_lines(B, "refused unchecked")) >= 4, "4 logins refused unchecked")
    # the daemon logs a refusal before its answer reaches the client thread
    wait_until(lambda: len(answers) >= 4, "the 4 refused logins answered")
    assert len(answers) == 4 and all(a.get("Status") == "Failure" for a in answers), answers
    # meanwhile: a correct login (other address, other user) and a call on the one worker
    s = ok(call_from(B, "127.0.0.1", "session.login_with_password", B.username, B.password))
    ok(call_from(B, "127.0.0.1", "host.get_all", s))
    ok(call_from(B, "127.0.0.1", "session.logout", s))
    assert len(answers) == 4, "held logins were answered before their back-off ended"
    B.stop()                # answers those still held
    for t in held + [first]:
        t.join(60)
    assert len(answers) == 20
    assert not any(isinstance(a, dict) and a.get("Status") == "Success" for a in answers), answers


def threads_named(x, names):
    """xend's threads whose name is one of names."""
    n = 0
    for t in os.listdir("/proc/%d/task" % x.proc.pid):
        try:
            with open("/proc/%d/task/%s/comm" % (x.proc.pid, t)) as f:
                n += f.read().strip() in names
        except OSError:
            pass                # it has just exited
    return n


def test_password_checkers_hold_threads_only_while_checking():
    # the checkers (auth-threads = 4 for TCP, one for the Unix socket) and
    # the back-off timer start with work and leave after a few idle seconds
    names = ("xend-auth", "xend-auth-unix", "xend-login")
    answers, most = [], [0]

    def login(source, password):
        answers.append(call_from(A, source, "session.login_with_password", A.username, password))
    logins = [threading.Thread(target=login, args=("127.0.0.1", A.password)) for _ in range(8)]
    for t in logins:
        t.start()
    while any(t.is_alive() for t in logins):
        most[0] = max(most[0], threads_named(A, ("xend-auth",)))
        time.sleep(0.01)
    assert len(answers) == 8 and all(a.get("Status") == "Success" for a in answers), answers
    assert most[0] <= 4, "%d password checkers for auth-threads = 4" % most[0]
    # a failure is answered after its back-off by the timer (a thread that
    # a checker starts: until it names itself it bears the checker's name,
    # so it is not counted above)
    fails(call_from(A, "127.0.0.5", "session.login_with_password", "ghost", "wrong"),
          "SESSION_AUTHENTICATION_FAILED")
    wait_until(lambda: threads_named(A, names) == 0, "no login thread left after the idle period")


def test_idle_sessions_expire():
    # C: session-timeout = 2
    p = C.proxy()
    s = C.login(p)
    ok(p.host.get_all(s))
    time.sleep(3.5)
    fails(p.host.get_all(s), "SESSION_INVALID")


def test_root_sessions_limited_per_originator():
    # C: sessions-root = 2, sessions-per-originator = 2 (its TCP listener authenticates nobody: root's groups)
    p = C.proxy()
    plain = [ok(p.session.login_with_password("root", "")) for _ in range(3)]
    fails(p.host.get_all(plain[0]), "SESSION_INVALID")
    tagged = [ok(p.session.login_with_password("root", "", "1.1", "tool-a")) for _ in range(3)]
    fails(p.host.get_all(tagged[0]), "SESSION_INVALID")
    for s in plain[1:] + tagged[1:]:
        ok(p.host.get_all(s))
    other = ok(p.session.login_with_password("root", "", "1.1", "tool-b"))
    for s in plain[1:] + tagged[1:] + [other]:
        ok(p.host.get_all(s))


def test_sessions_with_pending_tasks_are_not_evicted():
    # A: sessions-per-user = 2.  The older session owns a task still pending
    # (Async.event.next waits for an SR change): the limit ends the other one
    busy = ok(call_from(A, "127.0.0.1", "session.login_with_password", A.username, A.password))
    ok(call_from(A, "127.0.0.1", "event.register", busy, ["SR"]))
    task = ok(call_from(A, "127.0.0.1", "Async.event.next", busy))
    time.sleep(1.1)             # activity is kept to the second: busy is now the less recently active
    idle = ok(call_from(A, "127.0.0.1", "session.login_with_password", A.username, A.password))
    ok(call_from(A, "127.0.0.1", "host.get_all", idle))
    third = ok(call_from(A, "127.0.0.1", "session.login_with_password", A.username, A.password))
    fails(call_from(A, "127.0.0.1", "host.get_all", idle), "SESSION_INVALID")
    ok(call_from(A, "127.0.0.1", "host.get_all", busy))
    assert ok(call_from(A, "127.0.0.1", "task.get_status", busy, task)) == "pending"
    # both remaining sessions own a pending task: a further login is refused, nothing is ended
    ok(call_from(A, "127.0.0.1", "event.register", third, ["SR"]))
    task3 = ok(call_from(A, "127.0.0.1", "Async.event.next", third))
    fails(call_from(A, "127.0.0.1", "session.login_with_password", A.username, A.password),
          "SESSION_AUTHORIZATION_FAILED", A.username)
    assert log_lines(A, "each owning a pending task")
    for s, t in ((busy, task), (third, task3)):
        ok(call_from(A, "127.0.0.1", "host.get_all", s))
        assert ok(call_from(A, "127.0.0.1", "task.get_status", s, t)) == "pending"
    # once a task is done its session may go again
    ok(call_from(A, "127.0.0.1", "task.cancel", busy, task))
    wait_until(lambda: ok(call_from(A, "127.0.0.1", "task.get_status", busy, task)) != "pending",
               "the cancelled task finished")
    ok(call_from(A, "127.0.0.1", "session.login_with_password", A.username, A.password))
    fails(call_from(A, "127.0.0.1", "host.get_all", busy), "SESSION_INVALID")
    ok(call_from(A, "127.0.0.1", "task.cancel", third, task3))
    ok(call_from(A, "127.0.0.1", "session.logout", third))


def main():
    global A, B, C
    A = Xend(conf=["login-backoff-ms = 400", "login-backoff-max-ms = 60000", "sessions-per-user = 2"])
    B = Xend(conf=["workers = 1", "auth-threads = 1", "login-backoff-ms = 60000",
                   "login-backoff-max-ms = 60000"])
    C = Xend(pam=False, conf=["session-timeout = 2", "sessions-root = 2", "sessions-per-originator = 2"])
    try:
        for x in (A, B, C):
            x.start()
        run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
    finally:
        for x in (A, B, C):
            x.cleanup()


if __name__ == "__main__":
    main()
