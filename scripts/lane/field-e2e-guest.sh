#!/bin/sh
# End-to-end checks of blksnapctl on Veeam's field modules (VAL-7.0 or VAL-6.3.1 on Debian's
# stock kernel): runs INSIDE the VM of scripts/veeam-vm.sh (module loaded with chunk_minimum_shift=16
# and diff_storage_minimum=8192), with blksnapctl, jq and the NBD clients in the initramfs.
#
#   field-e2e-guest.sh ABI [SECTION...]      ABI: val7 | val6; default sections: all, in order
#
# Each check prints `ok NAME` or `FAIL NAME: why` (with the command's output under a FAIL);
# the last line is `e2e: N passed, M failed`; exit 1 when any check failed. The same
# checks as the v5 lane's e2e-guest.sh where the ABIs agree; the ABI's own behaviour
# (devices fixed at create, CBT readable only while taken, its guards) where they differ.
set -u
abi=${1:?usage: field-e2e-guest.sh val7|val6 [SECTION...]}
shift
. /lane/e2e-lib.sh
ctl=blksnapctl
case $abi in
    val7) version=7.0.0.0 abiname=VAL-7.0 image_glob='/dev/veeamblksnapimg_*' ;;
    val6) version=1.0.0.0 abiname=VAL-6.x image_glob='/dev/veeamblksnapimg*' ;;
    *) echo "field-e2e: unknown ABI $abi"; echo "e2e: 0 passed, 1 failed"; exit 1 ;;
esac

A=$(loop /tmp/a.img 64M)       # the session's original
B=$(loop /tmp/b.img 32M)       # lifecycle, guards, backup, nbd
S=$(loop /tmp/s.img 256M)      # difference storage
[ -b "$A" ] && [ -b "$B" ] && [ -b "$S" ] || { echo "e2e: no loop devices"; echo "e2e: 0 passed, 1 failed"; exit 1; }
echo "devices: A=$A B=$B storage=$S; module: $(cat /sys/module/veeamblksnap/version 2>/dev/null || echo '?')"
dd if=/dev/urandom of="$A" bs=1M count=64 oflag=direct 2> /dev/null
dd if=/dev/urandom of="$B" bs=1M count=32 oflag=direct 2> /dev/null

# The snapshot of B with storage on S, taken; sets $id and $image.
take_b() {
    run $ctl snapshot create "$B"; id=$(head -1 /tmp/out)
    run $ctl snapshot append-storage "$id" --device "$S" --range 0:65536; expect "$1: append-storage" 0
    run $ctl snapshot take "$id"; expect "$1: take" 0
    run $ctl --json snapshot info "$B"; image=$(jq -r .image /tmp/out)
}

section_version() {
    run $ctl version; expect "version names $version" 0 "$version" && grep -qF "$abiname" /tmp/out \
        && ok "version names the ABI" || bad "version lacks $abiname"
    run $ctl --json version; json "version --json" ".version == \"$version\" and .abi == \"$abi\""
}

section_doctor() {
    run $ctl doctor; expect "doctor: module usable" 0 "$abiname"
    run $ctl --json doctor; json "doctor --json" ".usable == true and .module.abi == \"$abi\""
    grep -q 'HZ\|hz' /tmp/out && ok "doctor reports the kernel HZ" || bad "doctor without HZ"
}

section_lifecycle() {
    if [ "$abi" = val7 ]; then
        run $ctl --json tracker attach "$B"; expect "tracker attach" 0
        run $ctl --json cbt info "$B"; json "cbt info before any snapshot" '.changes_number == 0 and .block_count > 0'
    fi
    run $ctl --json snapshot create "$B"; json "snapshot create" '.id | test("-")'
    id=$(jq -r .id /tmp/out)
    run $ctl --json snapshot append-storage "$id" --device "$S" --range 0:65536; expect "append-storage" 0
    run $ctl --json snapshot take "$id"; expect "snapshot take" 0
    run $ctl --json snapshot list; json "snapshot list" "[.snapshots[] | select(. == \"$id\")] | length == 1"
    run $ctl --json snapshot info "$B"; json "snapshot info names the image" '.image | test("veeamblksnapimg")'
    image=$(jq -r .image /tmp/out)
    [ -b "$image" ] && ok "image node $image exists" || bad "no image node $image"
    before=$(sum "$B")
    dd if=/dev/urandom of="$B" bs=64K count=16 seek=7 oflag=direct 2> /dev/null
    same "$(sum "$image")" "$before" && ok "image keeps the original at take" || bad "image differs from the original at take"
    run $ctl --json cbt read "$B" --since 0; json "cbt read while taken" '.changed_block_count >= 0'
    run $ctl --json cbt mark-dirty "$B" --range 0:8 --range 4096:8; expect "cbt mark-dirty of two ranges" 0
    # The creation event: VAL-7.0 range mode asks min(diff_storage_minimum, limit) with code 1;
    # VAL-6.x asks diff_storage_minimum with code 0. Both decode to low_free_space.
    run $ctl --json snapshot wait-event "$id" --timeout-ms 2000; json "wait-event returns the creation event" '.event == "low_free_space"'
    run $ctl snapshot wait-event "$id" --timeout-ms 200; expect "wait-event with a timeout and no event" 75
    run $ctl --json snapshot destroy "$id"; expect "snapshot destroy" 0
    [ -e "$image" ] && bad "image node gone after destroy" || ok "image node gone after destroy"
    if [ "$abi" = val7 ]; then
        run $ctl --json cbt info "$B"; json "cbt info after a take" '.changes_number == 1'
    else
        run $ctl cbt read "$B" --since 0; expect "cbt read outside a taken snapshot names the ABI" 1 "VAL-6.x"
    fi
}

section_guards() {
    if [ "$abi" = val7 ]; then
        take_b guards
        run $ctl tracker detach "$B"; expect "guard: detach of a member refused" 1 "is in a taken snapshot"
        run $ctl snapshot append-storage "$id" --device "$B" --range 0:2048
        expect "guard: storage on a tracked member refused" 1 "storage writes bypass the filter"
        run $ctl snapshot add "$id" "$A"; expect "guard: add after take refused (names VAL-7.0)" 1 "VAL-7.0 would accept"
        run $ctl snapshot destroy "$id"; expect "guards: destroy" 0
        # Another blksnapctl run appended $S as storage: the record is shared (/run/blksnap/val7).
        run $ctl snapshot create "$B"; id=$(head -1 /tmp/out)
        run $ctl snapshot append-storage "$id" --device "$S" --range 0:65536; expect "guards: append-storage (range mode)" 0
        run $ctl snapshot add "$id" "$S"; expect "guard: the storage's device refused as a member (appended by another run)" 1 "holds the difference storage"
        run $ctl snapshot destroy "$id"; expect "guards: destroy" 0
        [ -e "/run/blksnap/val7/$id.storage-devices" ] && bad "the storage record outlives the snapshot" || ok "destroy forgets the storage record"
    else
        run $ctl snapshot create "$B"; id=$(head -1 /tmp/out)
        run $ctl snapshot create "$A"; expect "guard: a second snapshot refused" 1 "destroy it first"
        run $ctl tracker detach "$B"; expect "guard: removing a member before take refused" 1
        run $ctl snapshot append-storage "$id" --device "$S" --range 3:65536; expect "guard: misaligned storage range refused" 1 "8 sectors"
        run $ctl snapshot append-storage "$id" --device "$B" --range 0:2048
        expect "guard: storage on a tracked member refused" 1 "storage writes bypass the filter"
        run $ctl snapshot add "$id" "$A"; expect "snapshot add names the ABI and the alternative" 64 "at create"
        # Each blksnapctl run is its own process: the guards below see what earlier runs did.
        run $ctl snapshot take "$id"; expect "guard: take without storage refused (created by another run)" 1 "no difference storage"
        run $ctl --json snapshot list; json "the snapshot survives the refused take" "[.snapshots[] | select(. == \"$id\")] | length == 1"
        run $ctl snapshot wait-event "$id" --timeout-ms 100; expect "wait-event: the creation event" 0
        $ctl snapshot wait-event "$id" --timeout-ms 15000 > /tmp/waiter.out 2>&1 & waiter=$!
        n=0; while [ ! -e "/run/blksnap/val6/$id.wait.lock" ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
        sleep 0.5
        run $ctl snapshot wait-event "$id" --timeout-ms 100; expect "guard: a second waiter refused (another process)" 1 "already waiting"
        wait $waiter; st=$?; same "$st" 75 && ok "the first waiter ran to its timeout (exit 75)" || bad "first waiter: exit $st"
        run $ctl snapshot destroy "$id"; expect "guards: destroy" 0
        run $ctl snapshot create "$A" "$B"; expect "guard: multi-device snapshot refused (not one point in time)" 1 "one point in time"
        run $ctl snapshot create "$A" "$B" --allow-sequential-take; expect "multi-device snapshot with --allow-sequential-take" 0
        run $ctl snapshot destroy "$(head -1 /tmp/out)"; expect "multi-device snapshot: destroy" 0
        run $ctl snapshot create "$A" --limit 64M; expect "snapshot create --limit refused on VAL-6.x (usage)" 64 "no storage limit"
        run $ctl tracker attach "$B"; echo "tracker attach on VAL-6.x: exit $st"
    fi
}

section_session() {
    before=$(sum "$A")
    run $ctl --json session "$A" --storage "$S" --step 8M -- \
        sh -c 'dd if=/dev/urandom of='"$A"' bs=1M count=48 oflag=direct 2>/dev/null && sha256sum "$BLKSNAP_IMAGE_0" | cut -d" " -f1 > /tmp/image.sum'
    cp /tmp/out /tmp/session.jsonl
    expect "session with a 48 MiB writer" 0
    appends=$(grep -c '"event":"appended"' /tmp/session.jsonl)
    echo "session figures: $appends extensions, exit $st"
    [ "$appends" -ge 2 ] && ok "session extended the storage $appends times" || bad "session extended the storage only $appends times"
    same "$(cat /tmp/image.sum 2>/dev/null)" "$before" && ok "session image = the original before the session" || bad "session image checksum differs"
    [ -z "$(ls $image_glob 2>/dev/null)" ] && ok "session left no image" || bad "session left an image"
}

section_backup() {
    # Issue 14: a full and an incremental qcow2 backup of a loop device on the real module;
    # issue 24: resync after the CBT is lost, and a delta restore (e2e-lib.sh).
    backup_checks "$B" "$S"
}

section_nbd() {
    take_b nbd
    run $ctl --json cbt info "$B"; since=$(( $(jq -r .changes_number /tmp/out) - 1 ))
    [ "$since" -lt 0 ] && since=0
    before=$(sum "$image")
    run $ctl --json cbt read "$B" --since "$since"
    jq -c '[.changed_ranges[] | [.offset_sectors * 512, .count_sectors * 512]]' /tmp/out > /tmp/cbt.ranges
    name=$(basename "$B"); sock=/tmp/nbd.sock
    $ctl nbd serve --unix "$sock" --cbt-since "$since" "$B" > /tmp/nbd.out 2> /tmp/nbd.err &
    server=$!
    i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -S "$sock" ] && ok "nbd serve listens" || bad "nbd serve did not listen: $(head -c 300 /tmp/nbd.err)"
    dd if=/dev/urandom of="$B" bs=1M count=4 seek=8 oflag=direct 2> /dev/null
    uri="nbd+unix:///$name?socket=$sock"
    if nbdcopy "$uri" /tmp/nbd-copy.img 2> /tmp/nbdcopy.err; then
        same "$(sum /tmp/nbd-copy.img)" "$before" && ok "nbdcopy of the export = the image" || bad "nbdcopy checksum differs"
    else
        bad "nbdcopy failed: $(head -c 300 /tmp/nbdcopy.err)"
    fi
    rm -f /tmp/nbd-copy.img
    if nbdinfo --json --map=qemu:dirty-bitmap:cbt "$uri" > /tmp/nbd.map 2> /tmp/nbdinfo.err; then
        jq -c '[.[] | select(.type == 1) | [.offset, .length]]' /tmp/nbd.map > /tmp/nbd.ranges
        [ "$(cat /tmp/nbd.ranges)" = "$(cat /tmp/cbt.ranges)" ] && ok "qemu:dirty-bitmap:cbt = cbt read --since $since" || bad "dirty bitmap $(cat /tmp/nbd.ranges) differs from cbt read $(cat /tmp/cbt.ranges)"
    else
        bad "nbdinfo --map failed: $(head -c 300 /tmp/nbdinfo.err)"
    fi
    kill -TERM $server; wait $server; st=$?
    [ "$st" = 0 ] && ok "nbd serve exits 0 on SIGTERM" || bad "nbd serve exit $st on SIGTERM"
    run $ctl snapshot destroy "$id"; expect "nbd: destroy" 0
}

section_overflow() {
    # A snapshot whose storage overflows: every image read then fails, with ENOSPC on VAL-6.x
    # (not a full disk) and EIO on VAL-7.0; nbd serve names the corruption and exits 65.
    run $ctl snapshot create "$B"; id=$(head -1 /tmp/out)
    run $ctl snapshot append-storage "$id" --device "$S" --range 0:1024; expect "overflow: append 512 KiB" 0
    run $ctl snapshot take "$id"; expect "overflow: take" 0
    dd if=/dev/urandom of="$B" bs=1M count=8 oflag=direct 2> /dev/null
    name=$(basename "$B"); sock=/tmp/nbd-overflow.sock
    $ctl nbd serve --unix "$sock" "$B" > /tmp/nbd.out 2> /tmp/nbd.err &
    server=$!
    i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if nbdcopy "nbd+unix:///$name?socket=$sock" /tmp/nbd-overflow.img 2> /tmp/nbdcopy.err; then
        bad "nbdcopy of an overflowed image succeeded"
    else
        ok "nbdcopy of an overflowed image fails: $(head -c 120 /tmp/nbdcopy.err | tr '\n' ' ')"
    fi
    rm -f /tmp/nbd-overflow.img
    kill -TERM $server 2> /dev/null; wait $server; st=$?
    same "$st" 65 && ok "nbd serve exits 65 (corrupted)" || bad "nbd serve exit $st, expected 65"
    grep -q "is corrupted" /tmp/nbd.err && ok "nbd serve names the corruption" \
        || bad "nbd serve's message: $(head -c 400 /tmp/nbd.err)"
    run $ctl --json snapshot info "$B"; image=$(jq -r .image /tmp/out)
    # What the module itself answers a direct read: VAL-6.x ENOSPC, VAL-7.0 EIO (field spec 6 #7, #9).
    if dd if="$image" of=/dev/null bs=4096 count=1 iflag=direct 2> /tmp/dd.err; then
        bad "a direct read of the overflowed image succeeded"
    else
        echo "overflow figures: direct read of $image: $(tail -1 /tmp/dd.err)"
        if [ "$abi" = val6 ]; then want="No space left on device"; else want="Input/output error"; fi
        grep -q "$want" /tmp/dd.err && ok "direct image read fails: $want" || bad "direct image read: $(tail -1 /tmp/dd.err)"
    fi
    run $ctl snapshot destroy "$id"; expect "overflow: destroy" 0
}

section_kernel_storage() {
    if [ "$abi" = val6 ]; then
        run $ctl session "$A" --storage kernel:/tmp --limit 64M -- true
        expect "kernel-grown storage refused on VAL-6.x (usage)" 64 "does not grow storage itself"
        return
    fi
    # A directory on tmpfs: the kernel makes an O_TMPFILE there and grows it itself
    # (field spec 2.7.2); no low_free_space event comes, so the session appends nothing.
    mkdir -p /tmp/kstore
    before=$(sum "$A")
    run $ctl --json session "$A" --storage kernel:/tmp/kstore --limit 128M -- \
        sh -c 'dd if=/dev/urandom of='"$A"' bs=1M count=32 oflag=direct 2>/dev/null && sha256sum "$BLKSNAP_IMAGE_0" | cut -d" " -f1 > /tmp/image.sum'
    expect "session with kernel-grown storage in a directory (tmpfs)" 0
    same "$(cat /tmp/image.sum 2>/dev/null)" "$before" && ok "kernel-grown (directory) image = the original" || bad "kernel-grown (directory) image differs"
    grep -q '"event":"appended"' /tmp/out && bad "the session appended to kernel-grown storage" || ok "nothing appended to kernel-grown storage"
    # A whole block device the kernel opens exclusively (from sector 4096, 2.7.1).
    before=$(sum "$A")
    run $ctl session "$A" --storage "kernel:$S" --limit 200M -- \
        sh -c 'dd if=/dev/urandom of='"$A"' bs=1M count=16 oflag=direct 2>/dev/null && sha256sum "$BLKSNAP_IMAGE_0" | cut -d" " -f1 > /tmp/image.sum'
    expect "session with a kernel-grown block device" 0
    same "$(cat /tmp/image.sum 2>/dev/null)" "$before" && ok "kernel-grown (block device) image = the original" || bad "kernel-grown (block device) image differs"
    # Guard (2.3, 6 #10): the device holding the storage is never made a member.
    run $ctl session "$S" --storage "kernel:$S" --limit 64M -- true
    expect "guard: the storage's own device refused as a member" 1 "holds the difference storage"
    run $ctl session "$A" --storage kernel:/tmp/kstore -- true
    expect "kernel-grown storage without --limit refused" 64 "needs --limit"
    # The same storage from separate commands: snapshot create --storage kernel:DIR --limit.
    before=$(sum "$A")
    run $ctl --json snapshot create "$A" --storage kernel:/tmp/kstore --limit 64M
    json "snapshot create --storage kernel:DIR --limit" '.id | test("-")'
    id=$(jq -r .id /tmp/out)
    run $ctl snapshot take "$id"; expect "take with kernel-grown storage from snapshot create" 0
    run $ctl --json snapshot info "$A"; image=$(jq -r .image /tmp/out)
    dd if=/dev/urandom of="$A" bs=1M count=8 oflag=direct 2> /dev/null
    same "$(sum "$image")" "$before" && ok "snapshot create kernel:DIR: image = the original" || bad "snapshot create kernel:DIR: image differs"
    run $ctl snapshot destroy "$id"; expect "snapshot create kernel:DIR: destroy" 0
    run $ctl snapshot create "$S" --storage "kernel:$S" --limit 64M
    expect "guard: snapshot create refuses the storage's own device as a member" 1 "holds the difference storage"
    run $ctl --json snapshot list; json "the refused create left no snapshot" '.snapshots | length == 0'
    # create attached the tracker on its way (and leaves it, as documented): $S stays storage later.
    run $ctl tracker detach "$S"; expect "tracker detach of the storage device" 0
}

section_fallocate_cleanup() {
    [ "$abi" = val7 ] || { echo "(VAL-7.0 only)"; return; }
    # Field spec 6 #15: a CREATE whose initial fallocate fails returns ENOSPC and, on ext4,
    # leaves the partly allocated file behind, the filesystem full. The driver truncates it back.
    kmod=/lib/modules/$(uname -r)/kernel
    for m in lib/crc16 crypto/crc32c_generic fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4; do
        insmod "$kmod/$m.ko" 2> /dev/null
    done
    F=$(loop /tmp/f.img 64M)
    mkfs.ext4 -q -F -m 0 "$F" && mkdir -p /mnt/store && mount -t ext4 "$F" /mnt/store && ok "ext4 mounted on $F" \
        || { bad "ext4 on a loop device"; return; }
    avail=$(df -k /mnt/store | tail -1 | awk '{print $4}')
    fallocate -l $(( (avail - 2048) * 1024 )) /mnt/store/filler   # 2 MiB left, less than the 4 MiB the kernel reserves
    : > /mnt/store/diff
    sync
    before=$(df -k /mnt/store | tail -1 | awk '{print $4}')
    run $ctl session "$B" --storage kernel:/mnt/store/diff --limit 64M -- true
    expect "a create whose fallocate fails is refused" 1 "could not be allocated"
    sync
    after=$(df -k /mnt/store | tail -1 | awk '{print $4}')
    echo "fallocate cleanup figures: free before ${before} KiB, after ${after} KiB, diff file $(stat -c %s /mnt/store/diff) bytes"
    [ "$after" -ge "$before" ] && [ "$(stat -c %s /mnt/store/diff)" = 0 ] \
        && ok "the storage file the failed create grew was given back" || bad "the failed create left storage allocated"
    umount /mnt/store
}

sections=${*:-version doctor lifecycle guards session kernel_storage fallocate_cleanup backup nbd overflow}
for s in $sections; do
    echo "== $s"
    "section_$s"
done
echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
