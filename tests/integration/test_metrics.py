#!/usr/bin/python3
"""GET /metrics (docs/metrics.md) against the real daemon: the text passes
promtool's lint, the figures match the API's, access follows xend.conf's
`metrics`, and a real Prometheus (Debian's) scrapes it and answers queries
through its HTTP API."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, Xend, free_port, ok, run_with, skip, wait_until  # noqa: E402

X = None
MIB = 1 << 20


def get(url, timeout=30):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def samples(text):
    """{'name{labels}': value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def vm_with_devices(p, s, name):
    """A started VM with one disk (xvda) and one interface (device 0): its ref."""
    vm = ok(p.VM.create(s, {"name_label": name, "memory_static_max": str(256 * MIB),
                            "memory_dynamic_max": str(256 * MIB), "memory_dynamic_min": str(128 * MIB),
                            "memory_static_min": str(16 * MIB), "VCPUs_max": "2", "VCPUs_at_startup": "2",
                            "PV_kernel": "/boot/vmlinuz-test"}))
    sr = ok(p.SR.get_by_name_label(s, "QCoW"))[0]
    vdi = ok(p.VDI.create(s, {"name_label": name + "-disk", "SR": sr, "virtual_size": str(8 * MIB),
                              "type": "user", "sharable": False, "read_only": False, "other_config": {}}))
    ok(p.VBD.create(s, {"VM": vm, "VDI": vdi, "device": "xvda", "bootable": True, "mode": "RW",
                        "type": "Disk", "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    net = ok(p.network.get_all(s))[0]
    ok(p.VIF.create(s, {"VM": vm, "network": net, "device": "0", "MAC": "", "MTU": "1500",
                        "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    ok(p.VM.start(s, vm, False))
    return vm


DEVICE_COUNTERS = ("xen_domain_block_read_bytes_total", "xen_domain_block_write_bytes_total",
                   "xen_domain_interface_receive_bytes_total", "xen_domain_interface_transmit_bytes_total")


def test_device_counters():
    """VBD and VIF bytes are counters (TYPE counter, _bytes_total), one series
    per device, and they only grow while the guest runs."""
    p = X.proxy()
    s = X.login(p)
    vm = vm_with_devices(p, s, "io-vm")
    text = get("http://127.0.0.1:%d/metrics" % X.port)[2]
    for name in DEVICE_COUNTERS:
        assert "# TYPE %s counter\n" % name in text, name
    key = {n: '%s{domain="io-vm",uuid="%s",device="%s"}' % (n, vm, "xvda" if "block" in n else "0")
           for n in DEVICE_COUNTERS}
    first = samples(text)
    for n in DEVICE_COUNTERS:
        assert first.get(key[n], -1) >= 0, (key[n], [k for k in first if n in k])
    # the sim's guest does I/O as it runs: every counter moves on, none goes back
    later = {}

    def grew():
        later.update(samples(get("http://127.0.0.1:%d/metrics" % X.port)[2]))
        return all(later.get(key[n], 0) > first[key[n]] for n in DEVICE_COUNTERS)
    wait_until(grew, "the device counters to grow")
    ok(p.VM.hard_shutdown(s, vm))
    gone = samples(get("http://127.0.0.1:%d/metrics" % X.port)[2])
    assert not any(k in gone for k in key.values()), "a halted VM's devices have no series"
    ok(p.VM.destroy(s, vm))


def test_exposition():
    p = X.proxy()
    s = X.login(p)
    vm = ok(p.VM.create(s, {"name_label": 'met"rics\\vm', "memory_static_max": str(256 * MIB),
                            "memory_dynamic_max": str(256 * MIB), "memory_dynamic_min": str(128 * MIB),
                            "memory_static_min": str(16 * MIB), "VCPUs_max": "2", "VCPUs_at_startup": "2",
                            "PV_kernel": "/boot/vmlinuz-test"}))
    ok(p.VM.start(s, vm, False))
    for _ in range(3):
        ok(p.VM.get_all(s))
    p.VM.get_record(s, "no-such-vm")
    status, ctype, text = get("http://127.0.0.1:%d/metrics" % X.port)
    assert status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8", (status, ctype)
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    m = samples(text)
    assert m["xen_up"] == 1
    assert m["xen_host_cpus"] == len(ok(p.host_cpu.get_all(s)))
    hm = ok(p.host_metrics.get_all_records(s))
    rec = list(hm.values())[0]
    assert m["xen_host_memory_total_bytes"] == int(rec["memory_total"])
    labels = '{domain="met\\"rics\\\\vm",uuid="%s"}' % vm
    assert m["xen_domain_vcpus" + labels] == 2, [k for k in m if "vcpus" in k]
    assert m["xen_domain_memory_bytes" + labels] > 0
    assert "xen_domain_cpu_seconds_total" + labels in m
    assert m['xen_domain_info{domain="met\\"rics\\\\vm",uuid="%s",power_state="Running"}' % vm] == 1
    assert m['xen_api_calls_total{method="VM.get_all",result="success"}'] >= 3
    assert m['xen_api_calls_total{method="VM.get_record",result="failure"}'] >= 1
    assert m['xen_api_call_duration_seconds_count{method="VM.get_all"}'] >= 3
    assert m['xen_api_call_duration_seconds_bucket{method="VM.get_all",le="+Inf"}'] >= 3
    assert m["xen_sessions"] >= 1
    assert m["xen_event_log_capacity"] > 0 and m["xen_event_log_entries"] > 0
    # a method xend does not have is counted as "unknown": no client grows the label set
    p.No.such_method(s)
    m = samples(get("http://127.0.0.1:%d/metrics" % X.port)[2])
    assert m['xen_api_calls_total{method="unknown",result="failure"}'] >= 1
    assert not any("No.such_method" in k for k in m)
    ok(p.VM.hard_shutdown(s, vm))
    ok(p.VM.destroy(s, vm))


def local_non_loopback_ip():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))        # no packet is sent: this only picks the source address
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


def test_access():
    ip = local_non_loopback_ip()
    with Xend(pam=False, conf=["metrics = off"]) as off:
        status, _, body = get("http://127.0.0.1:%d/metrics" % off.port)
        assert status == 404 and "metrics are off" in body, (status, body)
    if ip is None:
        print("NOTE: no non-loopback address on this machine: the loopback-only refusal is not exercised")
        return
    # the default: loopback only; a listener on all addresses shows it
    port = free_port()
    # on all addresses, but only this machine's own clients get in
    listen = "listen = http:0.0.0.0:%d auth=none allow=127\\.0\\.0\\.1 allow=%s" % (port, ip.replace(".", "\\."))
    with Xend(pam=False, conf=[listen]) as x:
        assert get("http://127.0.0.1:%d/metrics" % port)[0] == 200
        status, _, body = get("http://%s:%d/metrics" % (ip, port))
        assert status == 403 and "local clients only" in body, (status, body)
    with Xend(pam=False, conf=[listen, "metrics = any"]) as x:
        assert get("http://%s:%d/metrics" % (ip, port))[0] == 200
        del x


def test_prometheus_scrapes():
    tmp = tempfile.mkdtemp(prefix="xend-prom-")
    port = free_port()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: xend\n    scrape_interval: 1s\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % X.port)
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    prom = subprocess.Popen(["prometheus", "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                             "--web.listen-address=127.0.0.1:%d" % port], stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % port
    try:
        def query(q):
            status, _, body = get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}), timeout=10)
            r = json.loads(body)
            assert status == 200 and r["status"] == "success", (status, body)
            return r["data"]["result"]

        deadline = time.time() + DEADLINE
        result = []
        while time.time() < deadline:
            assert prom.poll() is None, "prometheus exited: " + open(os.path.join(tmp, "prometheus.log")).read()[-2000:]
            try:
                result = query("xen_up")
                if result:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        assert result and result[0]["value"][1] == "1", result
        # the scrape target is healthy, and a query over the daemon's figures answers
        targets = json.loads(get(base + "/api/v1/targets")[2])["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"], targets
        r = query('xen_domain_memory_bytes{domain="Domain-0"}')
        assert len(r) == 1 and float(r[0]["value"][1]) > 0, r
        p = X.proxy()
        s = X.login(p)
        for _ in range(5):
            ok(p.host.get_all(s))
        deadline = time.time() + DEADLINE
        while time.time() < deadline:
            r = query('sum(xen_api_calls_total{method="host.get_all"})')
            if r and float(r[0]["value"][1]) >= 5:
                break
            time.sleep(0.5)
        assert r and float(r[0]["value"][1]) >= 5, r
        # a device counter, scraped as it grows: Prometheus sees its rate
        vm = vm_with_devices(p, s, "prom-io")
        q = 'xen_domain_interface_receive_bytes_total{domain="prom-io",device="0"}'
        deadline = time.time() + DEADLINE
        while time.time() < deadline:
            r = query("rate(%s[5s])" % q)
            if r and float(r[0]["value"][1]) > 0:
                break
            time.sleep(0.5)
        assert r and float(r[0]["value"][1]) > 0, (r, query(q))
        ok(p.VM.hard_shutdown(s, vm))
        ok(p.VM.destroy(s, vm))
    finally:
        prom.terminate()
        try:
            prom.wait(30)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    global X
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            skip("%s is not installed (scripts/install-deps.sh installs Debian's prometheus)" % tool)
    X = Xend()
    run_with(X, [test_exposition, test_device_counters, test_access, test_prometheus_scrapes])


if __name__ == "__main__":
    main()
