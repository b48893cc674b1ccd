#!/usr/bin/env python3
"""Writes the seed corpus of the `ioctl-val6` fuzz target (fuzz/corpus/ioctl-val6/).

Each seed is a sequence of operations in the input format of
fuzz/targets/IoctlFuzzEngine.swift, with VAL-6.3.1's structs (veeam-field-modules.md
§1.3): devices are {major, minor} pairs (the engine's `fa` is 240:0, `fb` 240:1, the
first image 252:0) and arrays sit behind raw pointers into the mapped regions (0x10000,
0x20000, 0x30000). Run from the repository root:

    python3 fuzz/seeds/ioctl_val6.py

Check that the seeds reach TAKE, copy-on-write and events with FUZZ_TRACE=1 on one file.
"""
import os
import struct

REGION = [0x10000, 0x20000, 0x30000]
# Selectors: indexes into IoctlFuzzProfile.val6.knownRequests.
(VERSION, CREATE, DESTROY, APPEND, TAKE, COLLECT, WAIT, TRACKER_REMOVE, TRACKER_COLLECT, READ_CBT_MAP,
 MARK_DIRTY, COLLECT_IMAGES, MOD, SETLOG, SECTOR_STATE, SSZGET, GETSIZE64) = range(17)
RAW = 0xFF  # a selector past the list: a raw u64 request follows
T_CONTROL, T_DEVICE, T_IMAGE = 0, 1, 2
FA, FB, IMAGE0 = (240, 0), (240, 1), (252, 0)


def dev(device):
    return struct.pack("<II", *device)


def ioctl(target, selector, regions, patch_id=False, argument_offset=0, raw_request=None):
    """One ioctl: regions are byte strings mapped (writable) at 0x10000, 0x20000, 0x30000."""
    op = (len(regions) << 2 if len(regions) > 1 else 0) | (0x40 if patch_id else 0)
    out = bytes([op, target, selector])
    if raw_request is not None:
        out += struct.pack("<Q", raw_request)
    for region in regions:
        out += struct.pack("<H", len(region)) + region + b"\0"
    return out + bytes([argument_offset])


def write(to_image, sector, count_blocks):
    """A pwrite of count_blocks·512 bytes at sector (op 3; 0x13 to the image of fa)."""
    return bytes([0x13 if to_image else 0x03]) + struct.pack("<HB", sector, count_blocks - 1)


def create(*devices):
    """CREATE: count, the device array right after the 32-byte struct; the id comes back at 16."""
    return ioctl(T_CONTROL, CREATE, [struct.pack("<IIQ", len(devices), 0, REGION[0] + 32) + bytes(16)
                                     + b"".join(dev(d) for d in devices)])


UUID = bytes(16)


def append(ranges, device=FB):
    """APPEND_STORAGE: id (patched), storage dev_t, count, ranges after the 40-byte struct."""
    return ioctl(T_CONTROL, APPEND, [UUID + dev(device) + struct.pack("<IIQ", len(ranges), 0, REGION[0] + 40)
                                     + b"".join(struct.pack("<QQ", o, c) for o, c in ranges)], patch_id=True)


TAKE_ = ioctl(T_CONTROL, TAKE, [UUID], patch_id=True)
WAIT = ioctl(T_CONTROL, WAIT, [UUID + bytes(4096 - 16)], patch_id=True)
DESTROY_ = ioctl(T_CONTROL, DESTROY, [UUID], patch_id=True)
IMAGES = ioctl(T_CONTROL, COLLECT_IMAGES, [UUID + struct.pack("<IIQ", 2, 0, REGION[0] + 32) + bytes(32)], patch_id=True)
TRACKERS = ioctl(T_CONTROL, TRACKER_COLLECT, [struct.pack("<IIQ", 4, 0, REGION[0] + 16) + bytes(4 * 48)])
TRACKERS_COUNT = ioctl(T_CONTROL, TRACKER_COLLECT, [struct.pack("<IIQ", 0, 0, 0)])


def read_map(device, offset, length):
    return ioctl(T_CONTROL, READ_CBT_MAP, [dev(device) + struct.pack("<IIQ", offset, length, REGION[1]),
                                           bytes(length)])


def mark_dirty(device, ranges):
    return ioctl(T_CONTROL, MARK_DIRTY, [dev(device) + struct.pack("<IIQ", len(ranges), 0, REGION[0] + 24)
                                         + b"".join(struct.pack("<QQ", o, c) for o, c in ranges)])


def remove(device):
    return ioctl(T_CONTROL, TRACKER_REMOVE, [dev(device)])


seeds = {
    "version-mod-dispatch": ioctl(T_CONTROL, VERSION, [bytes(8)]) + ioctl(T_CONTROL, MOD, [bytes(40)])
    + ioctl(T_CONTROL, RAW, [bytes(64)], raw_request=0x8008560C)   # nr 12
    + ioctl(T_CONTROL, RAW, [bytes(64)], raw_request=0xC0185622)   # nr 34
    + ioctl(T_CONTROL, RAW, [bytes(8)], raw_request=0x80085600)    # VERSION with other bits
    + ioctl(T_CONTROL, COLLECT, [struct.pack("<IIQ", 0, 0, 0)]) + TRACKERS_COUNT,
    "block-queries": ioctl(T_DEVICE, SSZGET, [bytes(8)]) + ioctl(T_DEVICE, GETSIZE64, [bytes(8)]),
    "full-flow": create(FA) + WAIT + append([(0, 4096)]) + TAKE_ + write(False, 8, 8) + write(True, 64, 4)
    + IMAGES + read_map(FA, 0, 64) + mark_dirty(FA, [(0, 8), (512, 8)]) + mark_dirty(IMAGE0, [(1024, 8)])
    + TRACKERS + WAIT + remove(FA) + DESTROY_ + remove(FA) + TRACKERS,
    "two-devices": create(FA, FB) + append([(0, 2048)], device=FB) + TAKE_ + write(False, 0, 16) + IMAGES
    + WAIT + DESTROY_,
    "overflow": create(FA) + append([(0, 64)]) + TAKE_ + b"".join(write(False, 16 * k, 16) for k in range(8))
    + WAIT + WAIT + write(True, 0, 8) + DESTROY_,
    "misaligned-range": create(FA) + append([(3, 2048)]) + TAKE_ + write(False, 0, 4) + WAIT + WAIT
    + write(True, 0, 1) + DESTROY_,
    "orphaned": create(FA) + create(FB) + DESTROY_ + create(FA) + ioctl(T_CONTROL, COLLECT,
                                                                         [struct.pack("<IIQ", 2, 0, REGION[0] + 16) + bytes(32)]),
    "take-failures": create(FA) + TAKE_ + TAKE_ + create() + TAKE_ + DESTROY_ + create(FA, FA) + create((7, 7)),
    "before-take": create(FA) + read_map(FA, 0, 16) + mark_dirty(IMAGE0, [(0, 8)]) + remove(FA) + append([(0, 4096)])
    + TAKE_ + write(False, 0, 8) + read_map(FA, 0, 16) + remove(FA) + DESTROY_,
    "setlog": ioctl(T_CONTROL, SETLOG, [struct.pack("<iIIIQ", 0, 6, 8, 0, REGION[1]), b"/tmp/log"])
    + ioctl(T_CONTROL, SETLOG, [struct.pack("<iIIIQ", 0, 6, 8, 0, REGION[1]), b"/tmp/log"])
    + ioctl(T_CONTROL, SETLOG, [struct.pack("<iIIIQ", 0, 0xFFFFFFFF, 8, 0, REGION[1]), b"/tmp/log"])
    + ioctl(T_CONTROL, SETLOG, [struct.pack("<iIIIQ", 0, 6, 0, 0, 0)]),
}

directory = os.path.join(os.path.dirname(__file__), "..", "corpus", "ioctl-val6")
os.makedirs(directory, exist_ok=True)
for seed, data in seeds.items():
    with open(os.path.join(directory, seed), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {os.path.normpath(directory)}")
