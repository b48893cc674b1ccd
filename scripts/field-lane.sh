#!/usr/bin/env bash
# The field-module lane (issue 22): blksnapctl end to end on Veeam's out-of-tree modules,
# VAL-7.0 and VAL-6.3.1, each built against Debian's stock kernel and booted with it in a VM
# (scripts/veeam-vm.sh). Runs scripts/lane/field-e2e-guest.sh inside, once per module. For
# each module it also runs the conformance scenarios (blksnap-conformance --abi MODULE) on the
# real module in the VM and on SimKernel's dialect of that module on the host: the transcripts
# must be identical.
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
log "building blksnapctl and blksnap-conformance (debug; up to date after the test command)"
for product in blksnapctl blksnap-conformance; do
    swift build --product "$product" >>"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; log "build failed"; exit 1; }
    cp "$bin/$product" "$out/$product"
done
seed=20261202
steps=1000
params=(chunk_minimum_shift=16 diff_storage_minimum=8192)
runner_common=(--seed "$seed" --steps "$steps")
for p in "${params[@]}"; do runner_common+=(--param "$p"); done
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
    grep -E '^(ok|FAIL|e2e:|== |devices:|session figures|backup figures|resync figures|cbt restore figures|tracker attach on)' "$out/$module.txt" | sed "s/^/$module: /"
    [ "$st" -eq 0 ] || { failed=1; tail -20 "$out/$module.txt" | sed "s/^/$module: /" >&2; }
    summary+=("$module: exit $st, $(grep -E '^e2e:' "$out/$module.txt" | tail -1 || echo 'no summary'), $((SECONDS - t0)) s")
    [ ${#sections[@]} -eq 0 ] || continue
    # Conformance: the same scenarios on the real module and on SimKernel's dialect of it.
    runner_args=(--abi "$module" "${runner_common[@]}")
    t0=$SECONDS
    log "booting the stock kernel with $module: conformance runner on the real module"
    st=0
    scripts/veeam-vm.sh run --module "$module" --param chunk_minimum_shift=16 --param diff_storage_minimum=8192 --timeout 1500 \
        --add "$out/blksnap-conformance" --console "$out/$module-conformance-console.log" \
        scripts/lane/conformance-guest.sh "${runner_args[@]}" >"$out/$module-conformance.txt" 2>&1 || st=$?
    sed -n '/^@@TRANSCRIPT-BEGIN$/,/^@@TRANSCRIPT-END$/p' "$out/$module-conformance.txt" | sed '1d;$d' >"$out/$module-kernel.txt"
    "$out/blksnap-conformance" --backend sim "${runner_args[@]}" >"$out/$module-sim.txt" 2>"$out/$module-sim.err" || st=1
    if [ "$st" -ne 0 ]; then
        failed=1; log "$module conformance: a run failed (status $st)"; tail -20 "$out/$module-conformance.txt" >&2
    elif grep '^conformance: warning:' "$out/$module-conformance.txt" >&2; then
        failed=1; log "$module conformance: the kernel run warned (above)"
    elif diff -u "$out/$module-kernel.txt" "$out/$module-sim.txt" >"$out/$module-diff.txt"; then
        log "$module conformance: transcripts identical"
    else
        failed=1
        log "$module conformance: transcripts differ (--- kernel, +++ sim), $(grep -c '^[-+][^-+]' "$out/$module-diff.txt") lines:"
        head -80 "$out/$module-diff.txt" >&2
    fi
    echo "field-lane: $module conformance lines: kernel $(wc -l <"$out/$module-kernel.txt"), sim $(wc -l <"$out/$module-sim.txt")"
    for area in lifecycle filter cbt events overflow imagewrite multidevice detach params walk; do
        printf 'field-lane:   %-12s %5d / %5d\n' "$area" "$(grep -c "^$area " "$out/$module-kernel.txt" || true)" \
            "$(grep -c "^$area " "$out/$module-sim.txt" || true)"
    done
    echo "field-lane: $module random walk seed $seed, $steps steps"
    summary+=("$module conformance: exit $st, $((SECONDS - t0)) s")
done
printf 'field-lane: %s\n' "${summary[@]}"
echo "field-lane: wall time $((SECONDS - start)) s (build $((built - start)) s)"
if [ "$failed" -ne 0 ]; then echo "field-lane: FAILED (outputs in $out)"; exit 1; fi
echo "field-lane: passed"
