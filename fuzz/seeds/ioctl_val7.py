#!/usr/bin/env python3
"""Writes the seed corpus of the `ioctl-val7` fuzz target (fuzz/corpus/ioctl-val7/).

Each seed is a sequence of operations in the input format of
fuzz/targets/IoctlFuzzEngine.swift; paths are pointers into the engine's path region
(0x80000 /dev/fa, 0x80008 /dev/fb, 0x80010 /dev/veeamblksnap, 0x80028 /dev/bdevfilter,
0x80038 "blksnap", 0x80040 an unterminated run). Run from the repository root:

    python3 fuzz/seeds/ioctl_val7.py
"""
import os
import struct

FA, FB, CONTROL_PATH, FILTER_PATH, FILTER_NAME, UNTERMINATED = (
    0x80000, 0x80008, 0x80010, 0x80028, 0x80038, 0x80040)
REGION = [0x10000, 0x20000, 0x30000]
# Selectors: indexes into IoctlFuzzProfile.val7.knownRequests.
VERSION, CREATE, DESTROY, APPEND, TAKE, COLLECT, WAIT, ATTACH, DETACH, CTL = range(10)
SSZGET, GETSIZE64, IOMIN, PBSZGET, MOD, SETLOG = range(10, 16)
# Targets: control, device fa, image of fa, /dev/bdevfilter.
T_CONTROL, T_DEVICE, T_IMAGE, T_FILTER = 0, 1, 2, 0x43
CBTINFO, CBTMAP, CBTDIRTY, SNAPSHOTADD, SNAPSHOTINFO = range(5)


def ioctl(target, selector, regions, patch_id=False, argument_offset=0):
    """One ioctl: regions are byte strings mapped at 0x10000, 0x20000, 0x30000."""
    op = 0 | (len(regions) << 2 if len(regions) > 1 else 0) | (0x40 if patch_id else 0)
    out = bytes([op, target, selector])
    for region in regions:
        out += struct.pack("<H", len(region)) + region + b"\0"  # writable
    return out + bytes([argument_offset])


def write(to_image, sector, count_blocks, fill=0):
    """A pwrite of count_blocks·512 bytes at sector (op 3, 0x13 to the image)."""
    return bytes([(0x13 if to_image else 0x03) | fill]) + struct.pack("<HB", sector, count_blocks - 1)


def name(path_pointer, filter_name=b"blksnap"):
    return struct.pack("<Q", path_pointer) + filter_name.ljust(32, b"\0")


def ctl(path_pointer, cmd, optlen, opt, filter_name=b"blksnap"):
    return name(path_pointer, filter_name) + struct.pack("<IIQ", cmd, optlen, opt)


def create(limit=4096, filename=0):
    return ioctl(T_CONTROL, CREATE, [struct.pack("<QQ", limit, filename) + bytes(16)])


UUID = bytes(16)
ATTACH_FA = ioctl(T_FILTER, ATTACH, [name(FA)])
ADD_FA = ioctl(T_FILTER, CTL, [ctl(FA, SNAPSHOTADD, 16, REGION[1]), UUID], patch_id=True)


def append(sectors):
    """APPEND_STORAGE of /dev/fb's first `sectors`: the ranges follow the struct (40 bytes)
    in region 0, where the id is patched."""
    return ioctl(T_CONTROL, APPEND, [UUID + struct.pack("<QIIQ", FB, 1, 0, REGION[0] + 40)
                                     + struct.pack("<QQ", 0, sectors)], patch_id=True)


APPEND_FB = append(4096)
TAKE = ioctl(T_CONTROL, TAKE, [UUID], patch_id=True)
WAIT = ioctl(T_CONTROL, WAIT, [UUID + bytes(4096 - 16)], patch_id=True)
DESTROY_ = ioctl(T_CONTROL, DESTROY, [UUID], patch_id=True)

seeds = {
    "version-mod": ioctl(T_CONTROL, VERSION, [bytes(8)]) + ioctl(T_CONTROL, MOD, [bytes(8 + 32)])
    + ioctl(T_CONTROL, COLLECT, [struct.pack("<IIQ", 0, 0, 0)]),
    "block-queries": b"".join(ioctl(T_DEVICE, s, [bytes(8)]) for s in (SSZGET, GETSIZE64, IOMIN, PBSZGET)),
    "filter-attach-detach": ATTACH_FA
    + ioctl(T_FILTER, CTL, [ctl(FA, CBTINFO, 40, REGION[1]), bytes(40)])
    + ioctl(T_FILTER, DETACH, [name(FA)])
    + ioctl(T_FILTER, ATTACH, [name(UNTERMINATED)])
    + ioctl(T_FILTER, ATTACH, [name(FA, b"other")]),
    "full-flow": create() + WAIT + ATTACH_FA + ADD_FA + APPEND_FB + TAKE + write(False, 8, 8) + write(True, 64, 4)
    + ioctl(T_FILTER, CTL, [ctl(FA, SNAPSHOTINFO, 36, REGION[1]), bytes(36)])
    + ioctl(T_FILTER, CTL, [ctl(FA, CBTMAP, 16, REGION[1]), struct.pack("<IIQ", 0, 64, REGION[2]), bytes(64)])
    + ioctl(T_FILTER, CTL, [ctl(FA, CBTDIRTY, 16, REGION[1]), struct.pack("<IIQ", 1, 0, REGION[2]),
                            struct.pack("<QQ", 0, 8)])
    + WAIT + DESTROY_,
    "storage-device": create(limit=2048, filename=FB) + ATTACH_FA + ADD_FA + TAKE + write(False, 0, 16) + WAIT
    + DESTROY_,
    "storage-paths": create(filename=CONTROL_PATH) + create(filename=FILTER_PATH)
    + create(filename=UNTERMINATED) + create(filename=0x90000),
    "overflow": create() + ATTACH_FA + ADD_FA
    + append(64)
    + TAKE + b"".join(write(False, 16 * k, 16) for k in range(8)) + WAIT + write(True, 0, 8) + DESTROY_,
    "setlog": ioctl(T_CONTROL, SETLOG, [struct.pack("<iiIIQ", 0, 6, 8, 0, REGION[1]), b"/tmp/log"]),
}

directory = os.path.join(os.path.dirname(__file__), "..", "corpus", "ioctl-val7")
os.makedirs(directory, exist_ok=True)
for seed, data in seeds.items():
    with open(os.path.join(directory, seed), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {os.path.normpath(directory)}")
