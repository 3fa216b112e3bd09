#!/usr/bin/python3
"""Client-named paths are confined (daemon/paths.h, docs/xend.conf.md):
VM.save's dest and VM.restore's src below image-dir, SR.create's location
below sr-dir, PV_kernel / PV_ramdisk / PV_bootloader below kernel-dir /
bootloader-dir for a backend that opens them (the sim with boot_files =
open).  A path outside is refused with the same answer whether something
exists there or not; links are never followed; a FIFO is refused, never
waited on.  VM.restore checks the image's whole record before it makes
anything, never takes another VM's devices or disks, and a restore that
fails leaves nothing behind."""
import os
import re
import stat
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import Xend, ok, fails, run_on_daemon  # noqa: E402

X = None
P = None
S = None
MIB = 1 << 20


def images():
    return os.path.join(X.state, "images")


def new_vm(name, p=None, s=None, **extra):
    p, s = p or P, s or S
    rec = {"name_label": name, "memory_static_max": str(256 * MIB), "memory_dynamic_max": str(256 * MIB),
           "memory_dynamic_min": str(128 * MIB), "memory_static_min": str(16 * MIB), "VCPUs_max": "1",
           "VCPUs_at_startup": "1", "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
           "actions_after_crash": "destroy"}
    rec.update(extra)
    return ok(p.VM.create(s, rec))


def new_disk(vm, name, device="xvda"):
    sr = ok(P.SR.get_by_name_label(S, "QCoW"))[0]
    vdi = ok(P.VDI.create(S, {"name_label": name, "SR": sr, "virtual_size": str(MIB), "type": "user",
                              "sharable": False, "read_only": False, "other_config": {}}))
    vbd = ok(P.VBD.create(S, {"VM": vm, "VDI": vdi, "device": device, "bootable": True, "mode": "RW",
                              "type": "Disk", "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    return vdi, vbd


def reason(ed):
    """The reason parameter of VALUE_NOT_SUPPORTED(field, value, reason)."""
    assert ed[0] == "VALUE_NOT_SUPPORTED" and len(ed) == 4, ed
    return ed[3]


def in_time(call, seconds=60):
    """call() answered within seconds (a FIFO must not hold a worker)."""
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", call()), daemon=True)
    t.start()
    t.join(seconds)
    assert "r" in out, "no answer within %d s" % seconds
    return out["r"]


def test_save_dest_confined():
    vm = new_vm("saver")
    ok(P.VM.start(S, vm, False))
    victim = os.path.join(X.tmp, "victim")
    with open(victim, "w") as f:
        f.write("keep me\n")
    os.chmod(X.tmp, 0o755)
    # outside image-dir: one answer whether the file exists or not, and nothing written
    e1 = fails(P.VM.save(S, vm, victim), "VALUE_NOT_SUPPORTED", "dest", victim)
    nothing = os.path.join(X.tmp, "no-such-file")
    e2 = fails(P.VM.save(S, vm, nothing), "VALUE_NOT_SUPPORTED", "dest", nothing)
    assert reason(e1) == reason(e2) and images() in reason(e1), (e1, e2)
    for bad in [images() + "/../victim", images() + "/./x.img", images() + "//x.img", "x.img", images(),
                images() + "/", "/root/.ssh/authorized_keys"]:
        fails(P.VM.save(S, vm, bad), "VALUE_NOT_SUPPORTED", "dest", bad)
    # links inside image-dir are not followed: to a file, to a directory
    os.symlink(victim, os.path.join(images(), "link.img"))
    fails(P.VM.save(S, vm, os.path.join(images(), "link.img")), "VALUE_NOT_SUPPORTED", "dest")
    os.symlink(X.tmp, os.path.join(images(), "dirlink"))
    fails(P.VM.save(S, vm, os.path.join(images(), "dirlink", "victim")), "VALUE_NOT_SUPPORTED", "dest")
    # a FIFO or a directory where the image would go
    os.mkfifo(os.path.join(images(), "fifo.img"))
    ed = in_time(lambda: P.VM.save(S, vm, os.path.join(images(), "fifo.img")))
    assert "regular file" in reason(fails(ed, "VALUE_NOT_SUPPORTED", "dest")), ed
    os.mkdir(os.path.join(images(), "adir"))
    fails(P.VM.save(S, vm, os.path.join(images(), "adir")), "VALUE_NOT_SUPPORTED", "dest")
    assert open(victim).read() == "keep me\n"
    assert ok(P.VM.get_power_state(S, vm)) == "Running"
    # inside, in a subdirectory: saved
    os.mkdir(os.path.join(images(), "sub"))
    path = os.path.join(images(), "sub", "saver.img")
    ok(P.VM.save(S, vm, path))
    assert stat.S_ISREG(os.lstat(path).st_mode) and ok(P.VM.get_power_state(S, vm)) == "Halted"
    ok(P.VM.destroy(S, vm))


def test_restore_src_confined():
    # outside: the same answer for an existing and a missing file
    e1 = fails(P.VM.restore(S, "/etc/passwd", False), "VALUE_NOT_SUPPORTED", "src", "/etc/passwd")
    e2 = fails(P.VM.restore(S, "/etc/no-such-file", False), "VALUE_NOT_SUPPORTED", "src", "/etc/no-such-file")
    assert reason(e1) == reason(e2), (e1, e2)
    # a FIFO is refused at once, even with a writer waiting on it
    fifo = os.path.join(images(), "restore.fifo")
    os.mkfifo(fifo)
    ed = in_time(lambda: P.VM.restore(S, fifo, False))
    assert "regular file" in reason(fails(ed, "VALUE_NOT_SUPPORTED", "src", fifo))
    # links and directories
    os.symlink("/etc/passwd", os.path.join(images(), "passwd"))
    fails(P.VM.restore(S, os.path.join(images(), "passwd"), False), "VALUE_NOT_SUPPORTED", "src")
    fails(P.VM.restore(S, images() + "/../images/x", False), "VALUE_NOT_SUPPORTED", "src")
    os.mkdir(os.path.join(images(), "rdir"))
    fails(P.VM.restore(S, os.path.join(images(), "rdir"), False), "VALUE_NOT_SUPPORTED", "src")


def split_image(path):
    data = open(path, "rb").read()
    foot = data[-33:]
    m = re.match(rb"XEND-SAVE 1 (\d{20})\n$", foot)
    assert m, foot
    n = int(m.group(1))
    return data[:-33 - n], data[-33 - n:-33].decode()


def write_image(path, image, xml):
    body = xml.encode()
    with open(path, "wb") as f:
        f.write(image + body + b"XEND-SAVE 1 %020d\n" % len(body))


def counts():
    return (len(ok(P.VM.get_all(S))), len(ok(P.VBD.get_all(S))), len(ok(P.VIF.get_all(S))),
            len(ok(P.VDI.get_all(S))), len(ok(P.crashdump.get_all(S))))


def test_restore_checks_the_whole_record():
    a = new_vm("imaged")
    vdi_a, vbd_a = new_disk(a, "disk-a")
    net = ok(P.network.get_all(S))[0]
    ok(P.VIF.create(S, {"VM": a, "network": net, "device": "0", "MAC": "", "MTU": "1500",
                        "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    ok(P.VM.start(S, a, False))
    img = os.path.join(images(), "imaged.img")
    ok(P.VM.save(S, a, img))
    ok(P.VM.destroy(S, a))
    b = new_vm("other")
    vdi_b, vbd_b = new_disk(b, "disk-b")
    image, xml = split_image(img)
    assert vbd_a in xml and 'class="VBD"' in xml, xml
    before = counts()
    bad = os.path.join(images(), "bad.img")
    cases = [
        ("exists already", xml.replace(vbd_a, vbd_b)),
        ("belongs to another VM", xml.replace('<field name="VM">%s</field>' % a, '<field name="VM">%s</field>' % b)),
        ("another VM's disk", xml.replace(vdi_a, vdi_b)),
        ("cannot be restored", xml.replace("</xend-record>",
                                           ' <object class="crashdump" uuid="0f4d7b7c-3f1e-4c53-9d1a-6f5b2a1c9e01">'
                                           '<field name="VM">%s</field><field name="VDI">%s</field></object>\n'
                                           '</xend-record>' % (a, vdi_b))),
        ("control domain", re.sub(r'<field name="is_control_domain">false</field>',
                                  '<field name="is_control_domain">true</field>', xml)),
        ("twice", xml.replace("</xend-record>", xml[xml.index(' <object class="VBD"'):
                                                    xml.index("</object>", xml.index(' <object class="VBD"')) + 9]
                              + "\n</xend-record>")),
    ]
    for why, rec in cases:
        assert rec != xml, why
        write_image(bad, image, rec)
        ed = fails(P.VM.restore(S, bad, False), "VALUE_NOT_SUPPORTED", "src", bad)
        assert why in reason(ed), (why, ed)
        assert counts() == before, (why, counts(), before)
    assert ok(P.VBD.get_VM(S, vbd_b)) == b and ok(P.VBD.get_VDI(S, vbd_b)) == vdi_b
    # many attributes: refused before the XML parser sees them
    write_image(bad, image, xml.replace("<xend-record ", "<xend-record " + " ".join('a%d="x"' % i for i in range(20000)) + " "))
    t0 = time.time()
    fails(P.VM.restore(S, bad, False), "VALUE_NOT_SUPPORTED", "src", bad)
    assert time.time() - t0 < 10
    # a sound record whose image the backend cannot read: nothing is left behind
    write_image(bad, b"\0" * len(image), xml)
    r = P.VM.restore(S, bad, False)
    assert r["Status"] == "Failure", r
    assert counts() == before, (counts(), before)
    fails(P.VM.get_record(S, a), "HANDLE_INVALID", "VM", a)
    # the image itself comes back whole: the VM, its disk and its VIF
    assert ok(P.VM.restore(S, img, False)) == a
    assert ok(P.VM.get_power_state(S, a)) == "Running"
    assert [ok(P.VBD.get_VDI(S, v)) for v in ok(P.VM.get_VBDs(S, a))] == [vdi_a]
    assert len(ok(P.VM.get_VIFs(S, a))) == 1
    ok(P.VM.hard_shutdown(S, a))


def test_sr_location_confined():
    host = ok(P.host.get_all(S))[0]
    outside = os.path.join(X.tmp, "outside-sr")
    e1 = fails(P.SR.create(S, host, {"location": outside}, "0", "x", "", "file", "", False),
               "VALUE_NOT_SUPPORTED", "device_config:location", outside)
    assert not os.path.exists(outside)
    e2 = fails(P.SR.create(S, host, {"location": "/etc"}, "0", "x", "", "file", "", False),
               "VALUE_NOT_SUPPORTED", "device_config:location", "/etc")
    assert reason(e1) == reason(e2)
    srs = os.path.join(X.state, "sr")
    os.symlink(X.tmp, os.path.join(srs, "escape"))
    fails(P.SR.create(S, host, {"location": os.path.join(srs, "escape", "in")}, "0", "x", "", "file", "", False),
          "VALUE_NOT_SUPPORTED", "device_config:location")
    assert not os.path.exists(os.path.join(X.tmp, "in"))
    sr = ok(P.SR.create(S, host, {"location": os.path.join(srs, "mine")}, "0", "x", "", "file", "", False))
    assert os.path.isdir(os.path.join(srs, "mine"))
    ok(P.SR.destroy(S, sr))


def test_boot_files_confined():
    """A backend that opens the boot files itself (the sim with boot_files =
    open) gets only files below kernel-dir / bootloader-dir."""
    cfg = os.path.join(X.tmp, "sim-boot.conf")
    with open(cfg, "w") as f:
        f.write("boot_files = open\n")
    y = Xend(pam=False, conf=["sim-config = %s" % cfg])
    try:
        y.start()
        p = y.proxy()
        s = y.login(p)
        kernels = os.path.join(y.state, "kernels")
        kernel = os.path.join(kernels, "vmlinuz")
        with open(kernel, "wb") as f:
            f.write(b"\x7fELF not really a kernel")
        for field, value in [("PV_kernel", "/etc/passwd"), ("PV_kernel", "/etc/no-such-kernel"),
                             ("PV_ramdisk", "/etc/passwd"), ("PV_kernel", kernels + "/../kernels/vmlinuz"),
                             ("PV_bootloader", "/bin/sh")]:
            extra = {"PV_kernel": kernel, field: value}
            vm = new_vm("boot", p, s, **extra)
            ed = fails(p.VM.start(s, vm, False), "VALUE_NOT_SUPPORTED", field, value)
            assert ok(p.VM.get_power_state(s, vm)) == "Halted", ed
        e1 = fails(p.VM.start(s, new_vm("b1", p, s, PV_kernel="/etc/passwd"), False), "VALUE_NOT_SUPPORTED")
        e2 = fails(p.VM.start(s, new_vm("b2", p, s, PV_kernel="/etc/nope"), False), "VALUE_NOT_SUPPORTED")
        assert reason(e1) == reason(e2), (e1, e2)
        os.mkfifo(os.path.join(kernels, "fifo"))
        vm = new_vm("fifo", p, s, PV_kernel=os.path.join(kernels, "fifo"))
        ed = in_time(lambda: p.VM.start(s, vm, False))
        assert "regular file" in reason(fails(ed, "VALUE_NOT_SUPPORTED", "PV_kernel"))
        os.symlink("/etc/passwd", os.path.join(kernels, "link"))
        fails(p.VM.start(s, new_vm("lnk", p, s, PV_kernel=os.path.join(kernels, "link")), False),
              "VALUE_NOT_SUPPORTED", "PV_kernel")
        # inside: started; a bare bootloader name is Xen's own
        vm = new_vm("good", p, s, PV_kernel=kernel, PV_bootloader="pygrub")
        ok(p.VM.start(s, vm, False))
        assert ok(p.VM.get_power_state(s, vm)) == "Running"
        ok(p.VM.hard_shutdown(s, vm))
    finally:
        y.cleanup()


def main():
    run_on_daemon(globals(), [test_save_dest_confined, test_restore_src_confined,
                              test_restore_checks_the_whole_record, test_sr_location_confined,
                              test_boot_files_confined], pam=False)


if __name__ == "__main__":
    main()
