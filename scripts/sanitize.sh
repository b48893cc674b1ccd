#!/usr/bin/env bash
# Runs the concurrency tests under ThreadSanitizer and the rest under AddressSanitizer,
# each with its own build directory (.build-tsan, .build-asan).
#
#   scripts/sanitize.sh [thread|address|all]      (default all)
#
# TSan: every suite that runs threads against one simulator (COW engine races, destroy in
# the middle, event waiters vs destroy, fault injection under concurrent writers, the
# socket server and client with concurrent callers, multi-device takes during writes,
# concurrent storage allocation, the session against a streaming writer). Their threads
# are POSIX threads started together (Tests/SimKernelTests/Support.swift), and shared
# state is behind pthread mutexes: TSan cannot see Synchronization.Mutex's futex.
# ASan: the whole SimKernel and BlksnapKit test targets. Fails on any sanitizer report
# (halt_on_error) or test failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
which="${1:-all}"
# The core layers only (Package.swift): the sanitized suites need no NIO, BoringSSL or SQLite.
export BLKSNAP_CORE_ONLY=1

tsan_filter='CowEngineConcurrencyTests|CowEngineChunkLockTests|StressDestroyTests|WaitEventTests|FaultInjectionTests|WireServerTests|ConformanceScenarioTests|ConformanceEventTests|LifecycleTests|DiffStorageTests|WireScriptedKernelTests|WireClientTests|SessionSimulatorTests'
asan_filter='SimKernelTests|BlksnapKitTests'

run() {
    local name="$1"; shift
    local start=$SECONDS
    echo "== $name: $*"
    "$@"
    echo "== $name finished in $((SECONDS - start)) s"
}

if [ "$which" = thread ] || [ "$which" = all ]; then
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
    run tsan-build swift build --build-tests --sanitize=thread --scratch-path .build-tsan
    run tsan-test swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "$tsan_filter"
fi
if [ "$which" = address ] || [ "$which" = all ]; then
    # A toolchain false report in Swift Testing's #expect on optionals (see the file).
    export ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 suppressions=$PWD/scripts/asan.supp ${ASAN_OPTIONS:-}"
    # Leaks inside the toolchain's XCTest and Foundation.Process only (see the file).
    export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"
    run asan-build swift build --build-tests --sanitize=address --scratch-path .build-asan
    run asan-test swift test --skip-build --sanitize=address --scratch-path .build-asan --filter "$asan_filter"
fi
