#!/usr/bin/env bash
# Sequential 1 MiB direct writes through a loop device over the FUSE export of
# `blksnapctl sim serve --mount` against a loop device over a plain host file
# (the figure issue 8 adds to the benchmark; meant to move into blksnap-bench).
#
#   scripts/bench-loop-fuse.sh [--size MiB] [--blksnapctl PATH] [--dir DIR]
#
# Prints MiB/s for: a plain file (page cache, and direct I/O), an untracked simulated device, a tracked device with a
# taken snapshot (first pass: every write copies its chunk first; second pass: chunks
# already copied), and the ratios to the plain file.
# Needs root, /dev/fuse, loop devices. Cleans up (loops, mounts, server) on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size=256
ctl=.build/debug/blksnapctl
dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size="$2"; shift ;;
        --blksnapctl) ctl="$2"; shift ;;
        --dir) dir="$2"; shift ;;
        *) echo "usage: $0 [--size MiB] [--blksnapctl PATH] [--dir DIR]" >&2; exit 64 ;;
    esac
    shift
done
[ -x "$ctl" ] || { echo "bench-loop-fuse: $ctl is not built (swift build)" >&2; exit 69; }
[ "$(id -u)" = 0 ] || { echo "bench-loop-fuse: needs root (losetup)" >&2; exit 77; }
work=$(mktemp -d "${dir:-/var/tmp}/blksnap-loop-fuse.XXXXXX")
export BLKSNAPCTL_SIM="$work/sim.sock"
loops=()
server=
cleanup() {
    for loop in "${loops[@]}"; do losetup -d "$loop" 2>/dev/null || true; done
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    fusermount3 -u -z "$work/fuse" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# MiB/s of `dd` writing $size MiB of zeros to $1 with O_DIRECT, 1 MiB at a time.
rate() {
    local start end
    start=$(date +%s%N)
    dd if=/dev/zero of="$1" bs=1M count="$size" oflag=direct conv=notrunc status=none
    end=$(date +%s%N)
    awk -v mib="$size" -v ns="$((end - start))" 'BEGIN { printf "%.1f", mib * 1e9 / ns }'
}

# Baselines: a loop device on a plain file in the same directory as the simulator's
# backing files, once through the host page cache (like the simulator, which pwrite()s
# its backing files: the like-for-like baseline) and once with direct I/O (the disk).
truncate -s "${size}M" "$work/plain.img" "$work/plain-direct.img"
plain_loop=$(losetup --find --show --direct-io=off "$work/plain.img"); loops+=("$plain_loop")
direct_loop=$(losetup --find --show --direct-io=on "$work/plain-direct.img"); loops+=("$direct_loop")
"$ctl" sim serve --root "$work/state" --socket "$BLKSNAPCTL_SIM" --mount "$work/fuse" >/dev/null &
server=$!
for _ in $(seq 100); do [ -e "$work/fuse/dev" ] && break; sleep 0.1; done
"$ctl" sim device add untracked --size "${size}M" >/dev/null
"$ctl" sim device add tracked --size "${size}M" >/dev/null
"$ctl" sim device add store --size "$((size * 2))M" >/dev/null
untracked_loop=$("$ctl" sim loop attach /dev/untracked); loops+=("$untracked_loop")
tracked_loop=$("$ctl" sim loop attach /dev/tracked); loops+=("$tracked_loop")
id=$("$ctl" snapshot create /dev/tracked)
"$ctl" snapshot append-storage "$id" --device /dev/store --range "0:$((size * 2 * 2048))" >/dev/null
"$ctl" snapshot take "$id" >/dev/null

# Two passes each: the first allocates the sparse backing files (and, under the
# snapshot, copies every chunk first); the second rewrites allocated blocks.
plain1=$(rate "$plain_loop"); plain2=$(rate "$plain_loop")
direct1=$(rate "$direct_loop"); direct2=$(rate "$direct_loop")
untracked1=$(rate "$untracked_loop"); untracked2=$(rate "$untracked_loop")
snapshot1=$(rate "$tracked_loop"); snapshot2=$(rate "$tracked_loop")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "sequential 1 MiB O_DIRECT writes, $size MiB per pass (first pass / second pass, MiB/s)"
echo "loop on a plain file, through the page cache:       $plain1 / $plain2 (the baseline of the ratios)"
echo "loop on a plain file, direct I/O to the host disk:  $direct1 / $direct2"
echo "loop over FUSE, untracked simulated device:         $untracked1 / $untracked2 (ratio $(ratio "$untracked1" "$plain1") / $(ratio "$untracked2" "$plain2"))"
echo "loop over FUSE, snapshot taken (first pass = COW):  $snapshot1 / $snapshot2 (ratio $(ratio "$snapshot1" "$plain1") / $(ratio "$snapshot2" "$plain2"))"
echo "note: the simulator writes its backing files through the host page cache (fsync flushes them),"
echo "      as the baseline loop does; the direct-I/O line is the host disk, for scale"
"$ctl" snapshot destroy "$id" >/dev/null
