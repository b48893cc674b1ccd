# The check helpers of the lanes' end-to-end guest scripts (sourced inside the VM from
# /lane/e2e-lib.sh: scripts/lane.sh and scripts/field-lane.sh add it). Each check prints
# `ok NAME` or `FAIL NAME: why` and counts into $pass and $fail.
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    for f in /tmp/out /tmp/err; do [ -s "$f" ] && sed "s|^|    $(basename "$f"): |" "$f" | head -20; done
}
# run CMD...: runs it, keeps stdout in /tmp/out, stderr in /tmp/err, status in $st.
run() { "$@" > /tmp/out 2> /tmp/err; st=$?; }
# expect NAME STATUS [TEXT]: the last `run` exited STATUS and its stderr (or stdout) holds TEXT.
expect() {
    name=$1 want=$2 text=${3:-}
    if [ "$st" != "$want" ]; then bad "$name: exit $st, expected $want"; return 1; fi
    if [ -n "$text" ] && ! grep -qF -- "$text" /tmp/err && ! grep -qF -- "$text" /tmp/out; then
        bad "$name: output lacks '$text'"; return 1
    fi
    ok "$name"
}
# json NAME FILTER: the last `run` printed one JSON document for which jq FILTER is true.
json() {
    if [ "$st" != 0 ]; then bad "$1: exit $st"; return 1; fi
    if [ -s /tmp/out ] && jq -e "$2" /tmp/out > /dev/null 2>&1; then ok "$1 (json: $2)"; else bad "$1: json lacks $2"; fi
}
sum() { sha256sum "$1" | cut -d' ' -f1; }
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
loop() { # loop FILE SIZE: a loop device over a new tmpfs file; prints its path
    dev=$(losetup -f) && truncate -s "$2" "$1" && losetup "$dev" "$1" && echo "$dev"
}

# backup_checks DEVICE STORAGE (a 32 MiB device): the backup scenario of every lane (v5 and
# the field modules): a full and an incremental qcow2 backup, verify, each point restored = the device at its
# take (nothing writes during a backup here); then the CBT is lost (the tracker detached:
# the next backup attaches a new one, with a new generation), 5 clusters (1 % of 32 MiB)
# change, and the next backup must be a resync increment storing just those; then the
# incremental is restored onto the device with --delta, writing just the clusters that
# differ, and the full by the device's CBT (--delta --storage), reading nothing of it.
backup_checks() {
    dev=$1 storage=$2 repo=/tmp/repo
    before=$(sum "$dev")
    run $ctl backup create --json --quiet "$dev" --repo "$repo" --storage "$storage"
    json "backup create: full" '.backups[0].backup.type == "full"'
    full=$(jq -r '.backups[0].backup.id' /tmp/out)
    dd if=/dev/urandom of="$dev" bs=64K count=5 seek=100 oflag=direct 2> /dev/null
    dd if=/dev/urandom of="$dev" bs=1M count=1 seek=20 oflag=direct 2> /dev/null
    after=$(sum "$dev")
    run $ctl backup create --json --quiet "$dev" --repo "$repo" --storage "$storage"
    json "backup create: incremental" '.backups[0].backup.type == "incremental"'
    inc=$(jq -r '.backups[0].backup.id' /tmp/out)
    echo "backup figures: incremental read $(jq -r '.backups[0].backup.bytes_read' /tmp/out) bytes for $(jq -r '.backups[0].backup.changed_bytes' /tmp/out) changed bytes, file $(jq -r '.backups[0].backup.file_size' /tmp/out) bytes"
    run $ctl backup verify --repo "$repo"; expect "backup verify of the chain" 0
    run $ctl backup restore --quiet "$full" --repo "$repo" --to /tmp/full.raw; expect "backup restore of the full" 0
    same "$(sum /tmp/full.raw)" "$before" && ok "restored full = the device at its take" || bad "restored full differs"
    run $ctl backup restore --quiet "$inc" --repo "$repo" --to /tmp/inc.raw; expect "backup restore of the incremental" 0
    same "$(sum /tmp/inc.raw)" "$after" && ok "restored incremental = the device at its take" || bad "restored incremental differs"
    rm -f /tmp/full.raw /tmp/inc.raw

    run $ctl tracker detach "$dev"; expect "resync: the tracker detached (CBT lost)" 0
    for cluster in 3 77 150 301 480; do
        dd if=/dev/urandom of="$dev" bs=64K count=1 seek=$cluster oflag=direct 2> /dev/null
    done
    changed=$(sum "$dev")
    run $ctl backup create --json --quiet "$dev" --repo "$repo" --storage "$storage"
    json "resync: an increment on the head, not a full" \
        ".backups[0].backup.type == \"incremental\" and .backups[0].backup.parent == $inc and (.backups[0].backup.resync_reason | test(\"generation\"))"
    resync=$(jq -r '.backups[0].backup.id' /tmp/out)
    echo "resync figures: read $(jq -r '.backups[0].backup.bytes_read' /tmp/out) bytes, stored $(jq -r '.backups[0].backup.data_clusters' /tmp/out) clusters of 64 KiB for 5 changed"
    jq -e '.backups[0].backup.data_clusters == 5' /tmp/out > /dev/null \
        && ok "resync stored exactly the 5 changed clusters" || bad "resync stored other than the changed clusters"
    run $ctl backup restore --quiet "$resync" --repo "$repo" --to /tmp/resync.raw; expect "backup restore of the resync" 0
    same "$(sum /tmp/resync.raw)" "$changed" && ok "restored resync = the device at its take" || bad "restored resync differs"
    rm -f /tmp/resync.raw

    run $ctl backup restore --json "$inc" --repo "$repo" --to "$dev" --delta
    json "delta restore onto the device: 5 clusters written, the whole device read" \
        ".method == \"compare\" and .bytes_written == 327680 and .target_bytes_read == $((32 << 20))"
    same "$(sum "$dev")" "$after" && ok "delta-restored device = the incremental's point" || bad "delta-restored device differs"

    # Method cbt: the full back onto the device by its CBT (base: the resync, the newest
    # backup in the tracker's generation; the compare restore's writes are changes since).
    run $ctl backup restore --json "$full" --repo "$repo" --to "$dev" --delta --storage "$storage"
    json "cbt restore of the full onto the device: nothing of it read" \
        ".method == \"cbt\" and .cbt_base == $resync and .target_bytes_read == 0 and .bytes_written < $((32 << 20))"
    echo "cbt restore figures: wrote $(jq -r .bytes_written /tmp/out) bytes, $(jq -r .cbt_changed_bytes /tmp/out) changed on the device since backup $resync, $(jq -r .chain_differing_clusters /tmp/out) clusters differ in the chain"
    same "$(sum "$dev")" "$before" && ok "cbt-restored device = the full's point" || bad "cbt-restored device differs"
    rm -rf "$repo"
}
