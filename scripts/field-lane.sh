#!/usr/bin/env bash
# The field-module lane (issue 22): blksnapctl end to end on Veeam's out-of-tree modules,
# VAL-7.0 and VAL-6.3.1, each built against Debian's stock kernel and booted with it in a VM
# (scripts/veeam-vm.sh). Runs scripts/lane/field-e2e-guest.sh inside, once per module.
#
#   scripts/field-lane.sh [--module val7|val6]... [--keep DIR] [SECTION...]
#
# Uses the debug blksnapctl of .build (built here if missing: the README's test command
# builds it). Exit 0: every check passed on every module; 1: a check failed; 77: skipped
# because the module sources or the VM tools are missing (never under CI=true). Outputs
# are kept in .build-lane/field/ (or --keep DIR).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$SECONDS
modules=()
out="$root/.build-lane/field"
sections=()
while [ $# -gt 0 ]; do
    case "$1" in
        --module) modules+=("$2"); shift 2 ;;
        --keep) out="$2"; shift 2 ;;
        -*) echo "field-lane: unknown option $1" >&2; exit 64 ;;
        *) sections+=("$1"); shift ;;
    esac
done
[ ${#modules[@]} -gt 0 ] || modules=(val7 val6)
log() { echo "field-lane: $*" >&2; }

status=0
scripts/veeam-vm.sh build >/dev/null || status=$?
if [ "$status" -eq 77 ]; then log "skipped (no module sources)"; exit 77; fi
if [ "$status" -ne 0 ]; then log "the modules could not be built"; exit 1; fi

mkdir -p "$out"
bin="$(swift build --show-bin-path)"
log "building blksnapctl (debug; up to date after the test command)"
swift build --product blksnapctl >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; log "build failed"; exit 1; }
cp "$bin/blksnapctl" "$out/blksnapctl"
tools=()
for tool in jq nbdcopy nbdinfo mkfs.ext4; do
    path="$(command -v "$tool" || true)"
    if [ -z "$path" ]; then log "$tool is missing (apt-get install jq libnbd-bin e2fsprogs)"; exit 1; fi
    tools+=(--add "$path=/usr/bin/$tool")
done
built=$SECONDS

failed=0
summary=()
for module in "${modules[@]}"; do
    t0=$SECONDS
    log "booting the stock kernel with $module: end-to-end checks"
    st=0
    scripts/veeam-vm.sh run --module "$module" --param chunk_minimum_shift=16 --param diff_storage_minimum=8192 --timeout 1500 \
        --add "$out/blksnapctl" --add "$root/scripts/lane/e2e-lib.sh=/lane/e2e-lib.sh" "${tools[@]}" --console "$out/$module-console.log" \
        scripts/lane/field-e2e-guest.sh "$module" "${sections[@]}" >"$out/$module.txt" 2>&1 || st=$?
    grep -E '^(ok|FAIL|e2e:|== |devices:|session figures|backup figures|tracker attach on)' "$out/$module.txt" | sed "s/^/$module: /"
    [ "$st" -eq 0 ] || { failed=1; tail -20 "$out/$module.txt" | sed "s/^/$module: /" >&2; }
    summary+=("$module: exit $st, $(grep -E '^e2e:' "$out/$module.txt" | tail -1 || echo 'no summary'), $((SECONDS - t0)) s")
done
printf 'field-lane: %s\n' "${summary[@]}"
echo "field-lane: wall time $((SECONDS - start)) s (build $((built - start)) s)"
if [ "$failed" -ne 0 ]; then echo "field-lane: FAILED (outputs in $out)"; exit 1; fi
echo "field-lane: passed"
