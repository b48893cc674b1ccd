#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/targets/*.swift) with AddressSanitizer and runs
# each for a bounded time on its seed corpus (fuzz/corpus/<target>/). Fails on a crash,
# a leak, a timeout (hang) or an allocation beyond the RSS limit.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     (default 60 s, every target)
#
# Each target is compiled with swiftc together with the sources it exercises (one
# module, so no package build with sanitizer flags is needed). Findings land in
# .build-fuzz/artifacts/<target>/; the per-target execution count is printed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ioctl ioctl-val7 ioctl-val6 wire parsers nbd)

out=.build-fuzz
mkdir -p "$out/include"
# The C modules the sources import (each user API's header target), as SwiftPM would
# present them.
: > "$out/include/module.modulemap"
for header in Sources/C*UAPI/include/*.h; do
    name=$(basename "$header" .h)
    printf 'module %s {\n    header "%s"\n    export *\n}\n' "$name" "$PWD/$header" \
        >> "$out/include/module.modulemap"
done

sources_for() {
    case "$1" in
        ioctl) find Sources/SimKernel -name '*.swift' | sort; echo fuzz/targets/IoctlFuzzEngine.swift fuzz/targets/FuzzIoctl.swift | tr ' ' '\n' ;;
        ioctl-val7) find Sources/SimKernel -name '*.swift' | sort; echo fuzz/targets/IoctlFuzzEngine.swift fuzz/targets/FuzzIoctlVAL7.swift | tr ' ' '\n' ;;
        ioctl-val6) find Sources/SimKernel -name '*.swift' | sort; echo fuzz/targets/IoctlFuzzEngine.swift fuzz/targets/FuzzIoctlVAL6.swift | tr ' ' '\n' ;;
        wire) find Sources/SimKernel Sources/SimWire -name '*.swift' | sort; echo fuzz/targets/FuzzWire.swift ;;
        parsers)
            ls Sources/blksnap-cli/Parsing/*.swift
            for f in DeviceNumber SectorRange SnapshotID UUIDText; do echo "Sources/BlksnapKit/Types/$f.swift"; done
            echo fuzz/targets/FuzzParsers.swift ;;
        nbd) find Sources/BlksnapNBD/Protocol -name '*.swift' | sort; echo fuzz/targets/FuzzNBD.swift ;;
        *) echo "unknown fuzz target $1" >&2; return 1 ;;
    esac
}
module_for() { case "$1" in parsers) echo BlksnapKit ;; nbd) echo BlksnapNBD ;; *) echo SimKernel ;; esac; }

status=0
summary=()
for target in "${targets[@]}"; do
    binary="$out/fuzz-$target"
    mapfile -t sources < <(sources_for "$target")
    # Rebuilt only when a source is newer than the binary.
    if [ -x "$binary" ] && [ -z "$(find "${sources[@]}" -newer "$binary" | head -1)" ]; then
        echo "== fuzz target $target is up to date"
    else
    echo "== building fuzz target $target (${#sources[@]} files)"
    # -suppress-warnings: the parsers' `import BlksnapKit` names their own module here.
    if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -g -suppress-warnings -package-name blksnap_swift \
        -module-name "$(module_for "$target")" -I "$out/include" \
        "${sources[@]}" -o "$binary" 2> >(grep -v "ld.gold: warning: Cannot export local symbol" >&2); then
        rm -f "$binary"
        echo "!! $target does not build" >&2
        status=1
        summary+=("$target: BUILD FAILED")
        continue
    fi
    fi
    corpus="fuzz/corpus/$target"
    work="$out/corpus/$target"
    artifacts="$out/artifacts/$target/"
    mkdir -p "$corpus" "$work" "$artifacts"
    echo "== running $target for ${seconds}s"
    log="$out/$target.log"
    set +e
    # Generated inputs go to the scratch corpus; the seeds in the repo are only read.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$binary" "$work" "$corpus" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$artifacts" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    if [ $rc -ne 0 ]; then
        echo "!! $target FAILED (exit $rc); last lines of $log:" >&2
        tail -40 "$log" >&2
        status=1
        summary+=("$target: FAILED after $runs executions")
    else
        summary+=("$target: $runs executions in ${seconds}s, no crash/leak/timeout")
    fi
done
echo "== fuzz summary"
printf '   %s\n' "${summary[@]}"
exit $status
