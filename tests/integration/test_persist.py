#!/usr/bin/python3
"""Persistence: records survive a clean restart and kill -9 (a storm of at
least 200 random kills during concurrent create/set/destroy calls, with
checkpoints running under load: every acknowledged change is there and
nothing else); the later of two concurrent setters wins on disk; the journal
restores changes the files do not have yet, or whose file was lost; the
files are written by the idle checkpoint; an unreadable file is moved aside
and the daemon still starts; the files are human-readable XML; refs and
uuids are stable; on a full disk a call whose change cannot be made durable
is answered with an error, never Success, and the daemon recovers once space
is freed."""
import os
import random
import subprocess
import sys
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, Xend, ok, fails, require_root, run  # noqa: E402

MIB = 1 << 20
ODD = {"quote\"key": "a<b>&c", "new\nline": "tab\there", "unicode": "žluťoučký kůň ✓", "": "empty key",
       "spaces": "  lead and trail  "}


def vm_rec(name, **extra):
    rec = {"name_label": name, "name_description": "d", "memory_static_max": str(256 * MIB),
           "memory_dynamic_max": str(256 * MIB), "VCPUs_max": "2", "VCPUs_at_startup": "1",
           "actions_after_crash": "coredump_and_restart", "other_config": {}, "platform": {"pae": "true"},
           "PV_args": "root=/dev/xvda1 console=hvc0", "is_a_template": False, "user_version": "7"}
    rec.update(extra)
    return rec


def records(p, s, cls):
    return ok(getattr(p, cls).get_all_records(s))


def test_clean_restart_keeps_everything():
    with Xend(pam=False) as x:
        p = x.proxy()
        s = x.login(p)
        vm = ok(p.VM.create(s, vm_rec("keep", other_config=dict(ODD), VCPUs_params={"weight": "256"})))
        sr = ok(p.SR.get_by_name_label(s, "QCoW"))[0]
        vdi = ok(p.VDI.create(s, {"name_label": "disk", "SR": sr, "virtual_size": str(8 * MIB), "type": "user",
                                  "sharable": False, "read_only": True, "other_config": {"x": "y"}}))
        ok(p.VBD.create(s, {"VM": vm, "VDI": vdi, "device": "xvdb", "bootable": False, "mode": "RO",
                            "type": "Disk", "qos_algorithm_type": "", "qos_algorithm_params": {}}))
        net = ok(p.network.get_all(s))[0]
        ok(p.network.set_name_description(s, net, "renamed network"))
        ok(p.VIF.create(s, {"VM": vm, "network": net, "device": "", "MAC": "", "MTU": "9000",
                            "qos_algorithm_type": "ratelimit", "qos_algorithm_params": {"kbps": "100"}}))
        ok(p.console.create(s, {"VM": vm, "protocol": "vt100", "other_config": {}}))
        ok(p.VTPM.create(s, {"VM": vm, "backend": "", "other_config": {"t": "1"}}))
        host = ok(p.host.get_all(s))[0]
        ok(p.host.set_name_label(s, host, "renamed host"))
        ok(p.host.add_to_other_config(s, host, "rack", "7"))
        pool = ok(p.pool.get_all(s))[0]
        ok(p.pool.set_name_label(s, pool, "my pool"))
        user = ok(p.user.create(s, {"short_name": "alice", "fullname": "Alice A."}))
        net2 = ok(p.network.create(s, {"name_label": "private", "name_description": "", "default_gateway": "",
                                       "default_netmask": "", "other_config": {"bridge": "xenbr9"}}))
        classes = ["VM", "VBD", "VIF", "VDI", "SR", "PBD", "network", "console", "VTPM", "user", "PIF"]
        before = {c: records(p, s, c) for c in classes}
        host_before, pool_before = ok(p.host.get_record(s, host)), ok(p.pool.get_record(s, pool))
        vm_xml = vm_file(x, vm)
        x.restart()         # a clean exit checkpoints: the files hold everything
        assert os.path.exists(vm_xml)
        text = open(vm_xml, encoding="utf-8").read()
        assert text.startswith("<?xml") and '<field name="name_label">keep</field>' in text, text[:300]
        assert '<object class="VBD"' in text and '<object class="VIF"' in text, "devices live in the VM's file"
        assert "žluťoučký" in text
        p = x.proxy()
        s = x.login(p)
        for c in classes:
            after = records(p, s, c)
            assert after == before[c], (c, before[c], after)
        assert ok(p.VM.get_other_config(s, vm)) == ODD
        assert ok(p.host.get_record(s, host))["name_label"] == "renamed host"
        assert ok(p.host.get_record(s, host))["other_config"] == host_before["other_config"]
        assert ok(p.pool.get_record(s, pool)) == pool_before
        assert ok(p.user.get_fullname(s, user)) == "Alice A."
        assert ok(p.network.get_other_config(s, net2)) == {"bridge": "xenbr9"}
        ok(p.VM.destroy(s, vm))
        assert ok(p.VBD.get_all(s)) == [] and ok(p.VIF.get_all(s)) == []
        x.stop()
        assert not os.path.exists(vm_xml)
        assert os.path.exists(os.path.join(x.state, "VDI", vdi + ".xml")), "VDIs outlive their VMs"


def test_kill9_storm():
    """>= 200 kill -9 at random instants while two clients create, change and
    destroy VMs; after each restart every acknowledged change is there and
    nothing else (the one call in flight per client may or may not be)."""
    x = Xend(pam=False)
    rng = random.Random(int(os.environ.get("XEND_SEED", time.time())))
    model = {}              # uuid -> {"name":..., "k":...} acknowledged state
    lock = threading.Lock()
    kills = 0
    t_end = time.time() + 300           # ~70 s under ASan on a quiet machine; generous for a loaded CI
    # every other run of the daemon checkpoints every few records, so that
    # checkpoints (files written, syncfs, new journal generation) run under
    # load and some kills land in them
    os.environ["XEND_JOURNAL_CHECKPOINT_BYTES"] = "16384"
    try:
        x.start()
        while kills < 200:
            if time.time() > t_end:
                raise AssertionError("only %d kills in the time allowed" % kills)
            inflight = [None, None]
            api_errors = []
            stop = threading.Event()

            def client(i):
                p = x.unix_proxy()
                try:
                    s = ok(p.session.login_with_password("root", ""))
                    n = 0
                    while not stop.is_set():
                        with lock:
                            mine = [u for u, m in model.items() if m["owner"] == i]
                        ops = ["create", "create", "set", "map", "destroy"] if len(mine) < 12 else \
                            ["create", "set", "map", "destroy", "destroy"]
                        op = rng.choice(ops if mine else ["create"])
                        n += 1
                        if op == "create":
                            name = "c%d-%d-%d" % (i, kills, n)
                            inflight[i] = ("create", name)
                            u = ok(p.VM.create(s, vm_rec(name)))
                            with lock:
                                model[u] = {"name": name, "k": None, "owner": i}
                        elif op == "set":
                            u = rng.choice(mine)
                            name = "s%d-%d-%d" % (i, kills, n)
                            inflight[i] = ("set", u, name)
                            ok(p.VM.set_name_label(s, u, name))
                            model[u]["name"] = name
                        elif op == "map":
                            u = rng.choice(mine)
                            val = "v%d" % n
                            inflight[i] = ("map", u, val)
                            ok(p.VM.remove_from_other_config(s, u, "k"))
                            model[u]["k"] = None
                            ok(p.VM.add_to_other_config(s, u, "k", val))
                            model[u]["k"] = val
                        else:
                            u = rng.choice(mine)
                            inflight[i] = ("destroy", u)
                            ok(p.VM.destroy(s, u))
                            with lock:
                                del model[u]
                        inflight[i] = None
                except AssertionError as e:     # an API error, not the kill
                    if not stop.is_set():
                        api_errors.append(e)
                except (OSError, xmlrpc.client.ProtocolError, http_errors()):
                    pass            # the daemon died under us: inflight[i] says what was unacknowledged

            threads = [threading.Thread(target=client, args=(i,)) for i in (0, 1)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.002, 0.06))
            x.kill9()
            kills += 1
            stop.set()
            for t in threads:
                t.join()
            assert not api_errors, api_errors
            if kills % 2:
                os.environ["XEND_JOURNAL_CHECKPOINT_BYTES"] = "16384"
            else:
                os.environ.pop("XEND_JOURNAL_CHECKPOINT_BYTES", None)
            p, s = started(x)
            recs = ok(p.VM.get_all_records(s))
            got = {u: r for u, r in recs.items() if not r["is_control_domain"]}
            maybe_new = {f[1] for f in inflight if f and f[0] == "create"}
            for u in list(got):
                if u not in model:
                    assert got[u]["name_label"] in maybe_new, ("a VM nobody acknowledged", u, got[u]["name_label"])
                    model[u] = {"name": got[u]["name_label"], "k": got[u]["other_config"].get("k"),
                                "owner": int(got[u]["name_label"][1])}
            for u in list(model):
                fl = [f for f in inflight if f and len(f) > 1 and f[1] == u]
                if u not in got:
                    assert fl and fl[0][0] == "destroy", ("an acknowledged VM is lost", u, model[u])
                    del model[u]
                    continue
                r = got[u]
                if fl and fl[0][0] == "set":
                    assert r["name_label"] in (model[u]["name"], fl[0][2]), (r["name_label"], model[u], fl)
                else:
                    assert r["name_label"] == model[u]["name"], ("lost a name", u, r["name_label"], model[u])
                k = r["other_config"].get("k")
                if fl and fl[0][0] == "map":
                    assert k in (model[u]["k"], None, fl[0][2]), (k, model[u], fl)
                else:
                    assert k == model[u]["k"], ("lost a map change", u, k, model[u])
                model[u]["name"], model[u]["k"] = r["name_label"], k
                assert r["power_state"] == "Halted" and r["uuid"] == u
        corrupt = os.listdir(os.path.join(x.state, "corrupt"))
        assert corrupt == [], ("files were corrupted", corrupt)
        print("kill9 storm: %d kills, %d VMs at the end" % (kills, len(model)))
    finally:
        os.environ.pop("XEND_JOURNAL_CHECKPOINT_BYTES", None)
        x.cleanup()


def http_errors():
    import http.client
    return http.client.HTTPException


def test_concurrent_setters_last_wins_on_disk():
    with Xend(pam=False) as x:
        p, s = x.unix_session()
        vm = ok(p.VM.create(s, vm_rec("race")))

        def hammer(i):
            q, qs = x.unix_session()
            for n in range(150):
                ok(q.VM.set_name_label(qs, vm, "t%d-%d" % (i, n)))
                ok(q.VM.set_VCPUs_params(qs, vm, {"w": str(n), "t": str(i)})) if n % 10 == 0 else None

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mem = ok(p.VM.get_record(s, vm))
        x.kill9()
        p, s = started(x)
        disk = ok(p.VM.get_record(s, vm))
        assert disk["name_label"] == mem["name_label"], (disk["name_label"], mem["name_label"])
        assert disk["VCPUs_params"] == mem["VCPUs_params"]


def wait_for(cond, what, timeout=DEADLINE):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError("not within %d s: %s" % (timeout, what))
        time.sleep(0.1)


def name_in_file(path):
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        return None
    start = text.index('<field name="name_label">') + len('<field name="name_label">')
    return text[start:text.index("</field>", start)]


def started(x):
    """Starts the daemon (again) and opens a root session on it: (proxy, session)."""
    x.start()
    return x.unix_session()


def vm_file(x, vm):
    return os.path.join(x.state, "VM", vm + ".xml")


def create_on_disk(x, p, s, name, what):
    """A new VM called name, once the checkpoint has written its file: (ref, file)."""
    vm = ok(p.VM.create(s, vm_rec(name)))
    path = vm_file(x, vm)
    wait_for(lambda: name_in_file(path) == name, what)
    return vm, path


def test_idle_checkpoint_writes_the_files():
    """The files are written by the checkpoint once the daemon is idle (the
    journal holds the changes until then): created, renamed, removed."""
    with Xend(pam=False) as x:
        p, s = x.unix_session()
        vm, path = create_on_disk(x, p, s, "first", "the new VM's file")
        ok(p.VM.set_name_label(s, vm, "second"))
        wait_for(lambda: name_in_file(path) == "second", "the renamed VM's file")
        ok(p.VM.destroy(s, vm))
        wait_for(lambda: not os.path.exists(path), "the destroyed VM's file removed")
        gone = ok(p.VM.create(s, vm_rec("short-lived")))
        ok(p.VM.destroy(s, gone))
        create_on_disk(x, p, s, "kept", "the kept VM")
        assert not os.path.exists(vm_file(x, gone))


def test_journal_restores_what_the_files_lack():
    """After kill -9 the files are as of the last checkpoint (or lost); the
    journal's records bring them up to date at start."""
    with Xend(pam=False) as x:
        p, s = x.unix_session()
        vm, path = create_on_disk(x, p, s, "journal", "the checkpoint")
        ok(p.VM.set_name_label(s, vm, "journalled"))
        other = ok(p.VM.create(s, vm_rec("only in the journal")))
        x.kill9()           # within the second: no checkpoint since the calls
        assert name_in_file(path) == "journal", "the file is as of the checkpoint"
        assert not os.path.exists(vm_file(x, other))
        p, s = started(x)
        assert ok(p.VM.get_name_label(s, vm)) == "journalled"
        assert ok(p.VM.get_name_label(s, other)) == "only in the journal"
        assert name_in_file(path) == "journalled", "replay rewrote the file"
        ok(p.VM.set_name_label(s, vm, "again"))
        x.kill9()
        os.unlink(path)     # as if the file had not reached the disk
        p, s = started(x)
        assert ok(p.VM.get_name_label(s, vm)) == "again"
        assert os.path.exists(path)


def test_unreadable_files_are_moved_aside():
    with Xend(pam=False) as x:
        p, s = x.unix_session()
        good = ok(p.VM.create(s, vm_rec("good")))
        bad = ok(p.VM.create(s, vm_rec("bad")))
        typed = ok(p.VM.create(s, vm_rec("typed")))
        # enough files that the start-up reads them with several threads
        fillers = [ok(p.VM.create(s, vm_rec("filler-%d" % i))) for i in range(300)]
        x.stop()
        vmdir = os.path.join(x.state, "VM")
        open(os.path.join(vmdir, bad + ".xml"), "w").write("<xend-record version=\"1\"><object cla")
        t = open(os.path.join(vmdir, typed + ".xml")).read()
        open(os.path.join(vmdir, typed + ".xml"), "w").write(
            t.replace('<field name="VCPUs_max">2</field>', '<field name="VCPUs_max">many</field>'))
        open(os.path.join(vmdir, "stray.xml"), "w").write("hello")
        p, s = started(x)
        vms = ok(p.VM.get_all(s))
        assert good in vms and bad not in vms and typed not in vms, vms
        assert set(fillers) <= set(vms) and len(vms) == len(fillers) + 2, len(vms)   # + good + dom0
        aside = os.listdir(os.path.join(x.state, "corrupt"))
        assert len(aside) == 3, aside
        assert any(a.startswith("VM-" + bad) for a in aside) and any(a.startswith("VM-stray") for a in aside)
        log = open(x.log).read()
        assert "cannot be read" in log and bad in log


def fill(path):
    """Write zeros into path until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 16, 512):
            while True:
                try:
                    os.write(fd, bytes(size))
                except OSError:
                    break
    finally:
        os.close(fd)


def test_full_disk_never_answers_success_for_what_is_not_durable():
    """The state directory on a 20 MiB tmpfs, filled up: the journal (16 MiB
    of written zeros) takes records until it is full, the checkpoint cannot
    write the files and the journal cannot grow, and from then on a call that
    changes something is answered with INTERNAL_ERROR (not durable), while
    reads go on.  After kill -9 every change answered with Success is there;
    once space is freed the daemon checkpoints and answers Success again."""
    require_root("it mounts a tmpfs for the state directory")
    x = Xend(pam=False)
    os.makedirs(x.state)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", x.state], check=True)
    try:
        p, s = started(x)
        vm = ok(p.VM.create(s, vm_rec("full")))
        filler = os.path.join(x.state, "filler")
        fill(filler)
        big = "x" * (200 * 1024)
        acked, failure = None, None
        for i in range(200):            # 200 x 200 KiB: well past the 16 MiB journal
            r = p.VM.add_to_other_config(s, vm, "k%d" % i, big) if i == 0 else \
                p.VM.set_other_config(s, vm, {"k%d" % i: big})
            if r["Status"] == "Success":
                assert failure is None, "Success after a failure, with the disk still full: %r" % i
                acked = i
            else:
                failure = fails(r, "INTERNAL_ERROR")
        assert acked is not None and acked >= 30, "the journal took records until full: %r" % acked
        assert failure and "could not be written to disk" in failure[1], failure
        assert ok(p.VM.get_name_label(s, vm)) == "full", "reads go on"
        assert "cannot grow the journal" in open(x.log).read()
        x.kill9()
        os.unlink(filler)
        p, s = started(x)
        assert list(ok(p.VM.get_other_config(s, vm)).keys()) == ["k%d" % acked], "the last acknowledged change"
        # full again, then freed while the daemon runs: it recovers by itself
        fill(filler)
        for i in range(200):
            r = p.VM.set_other_config(s, vm, {"again%d" % i: big})
            if r["Status"] != "Success":
                break
        fails(r, "INTERNAL_ERROR")
        os.unlink(filler)
        wait_for(lambda: p.VM.set_name_label(s, vm, "recovered")["Status"] == "Success",
                 "a write answered with Success once space is free")
        x.stop()
        p, s = started(x)
        assert ok(p.VM.get_name_label(s, vm)) == "recovered"
    finally:
        if x.proc:
            x.kill9()
        subprocess.run(["umount", x.state])
        x.cleanup()


if __name__ == "__main__":
    run([test_clean_restart_keeps_everything, test_concurrent_setters_last_wins_on_disk,
         test_idle_checkpoint_writes_the_files, test_journal_restores_what_the_files_lack,
         test_unreadable_files_are_moved_aside, test_full_disk_never_answers_success_for_what_is_not_durable,
         test_kill9_storm])
