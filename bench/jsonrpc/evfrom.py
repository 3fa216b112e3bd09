#!/usr/bin/python3
"""event.from delivery latency, over JSON-RPC: a writer process changes a VM's
name_label `rate` times a second (XML-RPC, one keep-alive connection), a
reader process follows the VM with event.from on /jsonrpc (one keep-alive
connection, each call with the previous answer's token).  Both stamp
CLOCK_MONOTONIC: per write seen by the reader, "call -> event" (the write's
request sent -> the reader has the answer holding it) and "delivery" (the
write's answer in -> the reader has the event; negative when the event
beats the ack); the target (p99 <= 10 ms) is on delivery, what event.from
adds to a change: call -> event also holds the write's own durable commit.
Writes coalesced into one later event (XAPI's rule) are
counted, not timed.  Rounds are run one after the other; the report gives
each round's p50/p99 and the medians.  Prints one "EVFROM key=value" line.

usage: evfrom.py --port PORT --session REF [--rate HZ] [--seconds S] [--rounds N]
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import xmlrpc.client


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events"))
import evbench  # noqa: E402
from evbench import Conn  # noqa: E402  (one keep-alive XML-RPC connection, stamping on arrival)


class JsonConn(Conn):
    """The same connection posting JSON-RPC to /jsonrpc."""

    def send_json(self, obj):
        data = json.dumps(obj).encode()
        self.sock.sendall(b"POST /jsonrpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(data) + data)


def writer(port, session, vm, rate, seconds, start, q):
    """evbench's writer (XML-RPC, `rate` changes a second), in its own process."""
    q.put(evbench.writer(port, session, vm, rate, seconds, start))


def reader(port, session, vm, token, ready, q):
    c = JsonConn(port)
    seen, first = [], True
    while True:
        c.send_json({"jsonrpc": "2.0", "method": "event.from", "id": 0,
                     "params": [session, ["vm/" + vm], token, 30.0]})
        if first:
            ready.set()
            first = False
        b, t = c.recv()
        r = json.loads(b)
        if "error" in r:
            raise RuntimeError("event.from: %r" % r["error"])
        token = r["result"]["token"]
        for e in r["result"]["events"]:
            name = e.get("snapshot", {}).get("name_label", "")
            if name == "end":
                q.put(seen)
                return
            if name.startswith("w"):
                seen.append((int(name[1:]), t))


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))] if v else float("nan")


def median(v):
    v = sorted(v)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2 if v else float("nan")


def one_round(port, session, vm, rate, seconds):
    p = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % port)
    token = getattr(p.event, "from")(session, ["vm/" + vm], "", 1.0)["Value"]["token"]
    ready, qw, qr = mp.Event(), mp.Queue(), mp.Queue()
    rd = mp.Process(target=reader, args=(port, session, vm, token, ready, qr))
    rd.start()
    ready.wait(30)
    time.sleep(0.2)
    start = time.monotonic() + 0.2
    wr = mp.Process(target=writer, args=(port, session, vm, rate, seconds, start, qw))
    wr.start()
    writes, seen = qw.get(timeout=seconds + 120), qr.get(timeout=seconds + 120)
    wr.join()
    rd.join()
    sent = {s: (t0, t1) for s, t0, t1 in writes}
    call_ev = [(t - sent[s][0]) * 1000 for s, t in seen if s in sent]
    deliv = [(t - sent[s][1]) * 1000 for s, t in seen if s in sent]
    return len(writes), len(call_ev), call_ev, deliv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--session", required=True)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    p = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % a.port)
    vm = p.VM.create(a.session, {"name_label": "evfrom", "PV_kernel": "/boot/vmlinuz-test"})["Value"]
    rows = []
    for i in range(a.rounds):
        n, timed, ce, dl = one_round(a.port, a.session, vm, a.rate, a.seconds)
        rows.append((pct(ce, 50), pct(ce, 99), pct(dl, 50), pct(dl, 99)))
        print("round %d: %d writes, %d timed (%d coalesced into later events); call->event p50 %.2f ms "
              "p99 %.2f ms max %.2f ms; delivery p50 %.2f ms p99 %.2f ms"
              % (i + 1, n, timed, n - timed, rows[-1][0], rows[-1][1], max(ce) if ce else float("nan"),
                 rows[-1][2], rows[-1][3]), flush=True)
    m = [median([r[k] for r in rows]) for k in range(4)]
    print("median: call->event p50 %.2f ms p99 %.2f ms; delivery p50 %.2f ms p99 %.2f ms "
          "(target delivery p99 <= 10 ms: %s)" % (m[0], m[1], m[2], m[3], "met" if m[3] <= 10 else "NOT met"))
    print("EVFROM call_event_p50_ms=%.3f call_event_p99_ms=%.3f delivery_p50_ms=%.3f delivery_p99_ms=%.3f" % tuple(m))
    p.VM.destroy(a.session, vm)


if __name__ == "__main__":
    main()
