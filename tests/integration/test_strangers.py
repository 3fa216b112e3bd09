#!/usr/bin/python3
"""Bounded cost for strangers, over real sockets: request bodies in flight
share a byte budget (beyond it: 503 and the connection closed), TCP
connections are limited per address and leave descriptors in reserve (the
Unix socket still answers root when TCP is full), idle and trickling
connections time out."""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, ok, run, wait_until  # noqa: E402

X = None
NOFILE = 400        # the daemon's descriptor limit (set before it starts)
RESERVE = 300       # fd-reserve: TCP connections may hold about 100


def open_from(source, n, port=None):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port or X.port))
        socks.append(s)
    return socks


def closed_by_peer(s, timeout=30):
    """Did the daemon close s (EOF or reset) within timeout?"""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def head_post(s, length):
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % length)


def test_bodies_share_a_budget():
    # body-budget = 1 MiB, max-request-bytes = 768 KiB
    big = 700 * 1024
    a = open_from("127.0.0.1", 1)[0]
    head_post(a, big + 10)
    a.sendall(b"x" * big)               # held: most of the budget
    time.sleep(0.5)
    b = open_from("127.0.0.1", 1)[0]
    head_post(b, big + 10)              # refused before its body is sent
    b.settimeout(30)
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            d = b.recv(4096)
            if not d:
                break
            answer += d
    except ConnectionResetError:
        pass
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    assert closed_by_peer(b), "the refused connection stays open"
    a.close()
    b.close()
    # once the held body is gone, the budget is free again
    wait_until(lambda: ok_after_budget(), "a large body accepted after the holder left")
    p = X.proxy()
    ok(p.host.get_all(X.login(p)))


def ok_after_budget():
    """True once a large body is accepted; False while the server still
    refuses it (a 503, or the connection closed under the sender: the
    holder's budget is given back when the server has finished with it,
    which may be a moment after the client closed)."""
    s = open_from("127.0.0.1", 1)[0]
    body = b"<methodCall><methodName>system.listMethods</methodName><params/></methodCall>" + b" " * (600 * 1024)
    data = b""
    try:
        head_post(s, len(body))
        s.sendall(body)
        s.settimeout(30)
        while b"</methodResponse>" not in data and b"HTTP/1.1 503" not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (BrokenPipeError, ConnectionResetError):
        return False
    finally:
        s.close()
    return data.startswith(b"HTTP/1.1 200")


def test_connections_per_address():
    # connections-per-address = 8
    socks = open_from("127.0.0.5", 8)
    time.sleep(0.5)
    extra = open_from("127.0.0.5", 1)[0]
    assert closed_by_peer(extra), "a 9th connection from one address was kept"
    p = X.proxy()                       # another address is not affected
    ok(p.host.get_all(X.login(p)))
    for s in socks + [extra]:
        s.close()


def test_descriptor_reserve_keeps_the_unix_socket():
    # 400 descriptors, 300 in reserve: spread over addresses, TCP fills up near 100
    socks = []
    refused = None
    for i in range(40):
        for s in open_from("127.0.1.%d" % (i + 1), 6):
            socks.append(s)
        time.sleep(0.05)
    for s in socks:
        s.setblocking(False)
    time.sleep(1)
    alive = 0
    for s in socks:
        try:
            d = s.recv(1)
            if d == b"":
                continue
        except BlockingIOError:
            alive += 1
        except ConnectionResetError:
            continue
    refused = len(socks) - alive
    assert refused > 0, "all %d TCP connections were kept with %d descriptors" % (len(socks), NOFILE)
    assert alive <= NOFILE - RESERVE, alive
    # root over the Unix socket is still answered
    u, s = X.unix_session()
    ok(u.host.get_all(s))
    for s in socks:
        s.close()


def test_idle_connections_time_out():
    # http-timeout = 2
    idle = open_from("127.0.0.6", 1)[0]
    trickle = open_from("127.0.0.6", 1)[0]
    head_post(trickle, 1000)
    assert closed_by_peer(idle, 60) and closed_by_peer(trickle, 60)


def main():
    global X
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))   # inherited by the daemon
    X = Xend(pam=False, conf=["body-budget = 1048576", "max-request-bytes = 786432",
                             "connections-per-address = 8", "fd-reserve = %d" % RESERVE, "http-timeout = 2"])
    try:
        X.start()
        run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
    finally:
        X.cleanup()


if __name__ == "__main__":
    main()
