#!/usr/bin/env bash
# Builds blksnap-swift and runs every test.
#
#   scripts/test.sh                    # all tests
#   scripts/test.sh --filter Discovery # extra arguments go to `swift test`
#
# Installs missing apt packages first when run as root (see scripts/install-deps.sh).
# Loop-device tests need root and skip otherwise; with CI=true they fail instead.
# Exits non-zero if the build warns or fails, or any test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
# Zero warnings: the build log is kept and any compiler warning in the package's own
# sources or tests fails the run (a clean clone, as in CI, compiles every file; an
# incremental build shows only the files it recompiles).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
swift build --product generate-manual 2>&1 | tee -a "$log"  # for the man-page golden test
if grep -E "^$PWD/(Sources|Tests)/.*: warning: " "$log" | sort -u | grep .; then
    echo "test.sh: the build has compiler warnings (above); the package builds with none" >&2
    exit 1
fi
swift test --skip-build "$@"
