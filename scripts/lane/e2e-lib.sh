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
