#!/usr/bin/python3
"""Storage and devices: the default SR (found as "QCoW"), VDI files that
appear, grow and disappear as the API says, resize/snapshot/clone, SR.create
/destroy/forget, VDI_IN_USE; VBD/VIF plug/unplug on a running VM with
DEVICE_ALREADY_ATTACHED/DETACHED, media_change, a suspend image in the SR."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from xendtest import DEADLINE, ok, fails, run_on_daemon  # noqa: E402

X = P = S = None
MIB = 1 << 20


def sr_dir(sr):
    pbd = ok(P.SR.get_PBDs(S, sr))[0]
    return ok(P.PBD.get_device_config(S, pbd))["location"]


def vdi_path(vdi):
    return os.path.join(sr_dir(ok(P.VDI.get_SR(S, vdi))), vdi + ".img")


def new_vdi(sr, size, name="d"):
    return ok(P.VDI.create(S, {"name_label": name, "SR": sr, "virtual_size": str(size), "type": "user",
                               "sharable": False, "read_only": False, "other_config": {}}))


def new_vm(name="vm"):
    return ok(P.VM.create(S, {"name_label": name, "memory_static_max": str(128 * MIB),
                              "memory_dynamic_max": str(128 * MIB), "VCPUs_max": "1", "VCPUs_at_startup": "1",
                              "PV_kernel": "/boot/vmlinuz"}))


def vbd(vm, vdi, device="", typ="Disk"):
    return ok(P.VBD.create(S, {"VM": vm, "VDI": vdi, "device": device, "bootable": False, "mode": "RW",
                               "type": typ, "qos_algorithm_type": "", "qos_algorithm_params": {}}))


def test_default_sr():
    srs = ok(P.SR.get_by_name_label(S, "QCoW"))
    assert len(srs) == 1
    rec = ok(P.SR.get_record(S, srs[0]))
    assert rec["type"] == "file" and int(rec["physical_size"]) > 0
    pool = ok(P.pool.get_all(S))[0]
    assert ok(P.pool.get_default_SR(S, pool)) == srs[0]
    assert os.path.isdir(sr_dir(srs[0])) and sr_dir(srs[0]).startswith(X.state)
    assert ok(P.SR.get_supported_types(S)) == ["file"]


def test_vdi_files_follow_the_api():
    sr = ok(P.SR.get_by_name_label(S, "QCoW"))[0]
    vdi = new_vdi(sr, 64 * MIB)
    path = vdi_path(vdi)
    st = os.stat(path)
    assert st.st_size == 64 * MIB and st.st_blocks * 512 < MIB, "sparse"
    with open(path, "r+b") as f:            # the guest writes 4 MiB
        f.write(os.urandom(4 * MIB))
        f.flush()
        os.fsync(f.fileno())
    deadline = time.time() + DEADLINE
    while int(ok(P.VDI.get_physical_utilisation(S, vdi))) < 4 * MIB and time.time() < deadline:
        time.sleep(0.2)
    assert int(ok(P.VDI.get_physical_utilisation(S, vdi))) >= 4 * MIB
    ok(P.VDI.resize(S, vdi, str(128 * MIB)))
    assert os.path.getsize(path) == 128 * MIB and ok(P.VDI.get_virtual_size(S, vdi)) == str(128 * MIB)
    ok(P.VDI.set_virtual_size(S, vdi, str(96 * MIB)))
    assert os.path.getsize(path) == 96 * MIB
    snap = ok(P.VDI.snapshot(S, vdi, {}))
    clone = ok(P.VDI.clone(S, vdi, {}))
    data = open(path, "rb").read(4 * MIB)
    for c in (snap, clone):
        assert open(vdi_path(c), "rb").read(4 * MIB) == data
        assert os.path.getsize(vdi_path(c)) == 96 * MIB
    assert ok(P.VDI.get_other_config(S, snap)) == {"snapshot_of": vdi}
    assert set(ok(P.SR.get_VDIs(S, sr))) >= {vdi, snap, clone}
    for v in (vdi, snap, clone):
        p = vdi_path(v)
        ok(P.VDI.destroy(S, v))
        assert not os.path.exists(p)
    fails(P.VDI.create(S, {"name_label": "neg", "SR": sr, "virtual_size": "-1", "type": "user",
                           "sharable": False, "read_only": False, "other_config": {}}), "VALUE_NOT_SUPPORTED")


def test_sr_create_destroy_forget():
    host = ok(P.host.get_all(S))[0]
    loc = os.path.join(X.state, "sr", "extra-sr")     # below sr-dir (default <state>/sr)
    sr = ok(P.SR.create(S, host, {"location": loc}, "0", "extra", "more disks", "file", "", False))
    assert os.path.isdir(loc)
    v = new_vdi(sr, MIB)
    assert os.path.exists(os.path.join(loc, v + ".img"))
    ok(P.SR.destroy(S, sr))
    assert not os.path.exists(loc)
    fails(P.VDI.get_record(S, v), "HANDLE_INVALID", "VDI", v)
    fails(P.SR.create(S, host, {}, "0", "x", "", "lvm", "", False), "SR_UNKNOWN_DRIVER", "lvm")
    sr2 = ok(P.SR.create(S, host, {}, "0", "kept", "", "file", "", False))
    v2 = new_vdi(sr2, MIB)
    d2 = sr_dir(sr2)
    ok(P.SR.forget(S, sr2))
    assert os.path.exists(os.path.join(d2, v2 + ".img")), "forget keeps the files"
    fails(P.SR.get_record(S, sr2), "HANDLE_INVALID", "SR", sr2)


def test_devices_on_a_running_vm():
    sr = ok(P.SR.get_by_name_label(S, "QCoW"))[0]
    vm = new_vm("dev")
    disk = new_vdi(sr, 8 * MIB)
    b = vbd(vm, disk, "xvda")
    fails(P.VBD.create(S, {"VM": vm, "VDI": disk, "device": "xvda", "bootable": False, "mode": "RW",
                           "type": "Disk", "qos_algorithm_type": "", "qos_algorithm_params": {}}),
          "DEVICE_ALREADY_EXISTS", "xvda")
    fails(P.VBD.plug(S, b), "VM_BAD_POWER_STATE", vm, "Running", "Halted")
    ok(P.VM.start(S, vm, False))
    assert ok(P.VBD.get_currently_attached(S, b)) is True
    fails(P.VBD.plug(S, b), "DEVICE_ALREADY_ATTACHED", b)
    fails(P.VDI.destroy(S, disk), "VDI_IN_USE", disk, "destroy")
    fails(P.VBD.destroy(S, b), "DEVICE_ALREADY_ATTACHED", b)
    ok(P.VBD.unplug(S, b))
    assert ok(P.VBD.get_currently_attached(S, b)) is False
    fails(P.VBD.unplug(S, b), "DEVICE_ALREADY_DETACHED", b)
    hot = vbd(vm, new_vdi(sr, MIB))
    assert ok(P.VBD.get_device(S, hot)) == "xvdb"
    ok(P.VBD.plug(S, hot))
    assert ok(P.VBD.get_currently_attached(S, hot)) is True
    assert ok(P.VBD.get_status_code(S, hot)) == "0"
    cd = vbd(vm, new_vdi(sr, MIB), "xvdc", "CD")
    iso = new_vdi(sr, 2 * MIB, "iso")
    fails(P.VBD.media_change(S, b, iso), "VBD_NOT_REMOVABLE_MEDIA", b)
    ok(P.VBD.plug(S, cd))
    ok(P.VBD.media_change(S, cd, iso))
    assert ok(P.VBD.get_VDI(S, cd)) == iso
    net = ok(P.network.get_all(S))[0]
    vif = ok(P.VIF.create(S, {"VM": vm, "network": net, "device": "", "MAC": "", "MTU": "0",
                              "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    rec = ok(P.VIF.get_record(S, vif))
    assert rec["device"] == "0" and rec["MAC"].startswith("00:16:3e:") and rec["MTU"] == "1500"
    assert rec["currently_attached"] is False and vif in ok(P.network.get_VIFs(S, net))
    ok(P.VIF.plug(S, vif))
    fails(P.VIF.plug(S, vif), "DEVICE_ALREADY_ATTACHED", vif)
    ok(P.VIF.unplug(S, vif))
    fails(P.VIF.unplug(S, vif), "DEVICE_ALREADY_DETACHED", vif)
    fails(P.VIF.create(S, {"VM": vm, "network": net, "device": "1", "MAC": "nope", "MTU": "0",
                           "qos_algorithm_type": "", "qos_algorithm_params": {}}), "VALUE_NOT_SUPPORTED", "VIF.MAC")
    # a suspend image is a VDI in the SR, removed on resume
    before = set(os.listdir(sr_dir(sr)))
    ok(P.VM.suspend(S, vm))
    svdi = ok(P.VM.get_suspend_VDI(S, vm))
    assert ok(P.VDI.get_type(S, svdi)) == "suspend" and os.path.getsize(vdi_path(svdi)) > 0
    assert svdi + ".img" in set(os.listdir(sr_dir(sr))) - before
    assert ok(P.VBD.get_currently_attached(S, b)) is False
    ok(P.VM.resume(S, vm, False))
    assert ok(P.VM.get_suspend_VDI(S, vm)) == "" and svdi + ".img" not in os.listdir(sr_dir(sr))
    ok(P.VM.hard_shutdown(S, vm))
    ok(P.VBD.destroy(S, b))
    ok(P.VDI.destroy(S, disk))
    ok(P.VM.destroy(S, vm))
    assert ok(P.VBD.get_all(S)) == [] or all(ok(P.VBD.get_VM(S, x)) != vm for x in ok(P.VBD.get_all(S)))


def main():
    run_on_daemon(globals(), [test_default_sr, test_vdi_files_follow_the_api, test_sr_create_destroy_forget,
                              test_devices_on_a_running_vm], pam=False)


if __name__ == "__main__":
    main()
