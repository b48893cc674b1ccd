#!/usr/bin/env bash
# Builds blksnap-swift and runs every test.
#
#   scripts/test.sh                    # all tests
#   scripts/test.sh --filter Discovery # extra arguments go to `swift test`
#
# Installs missing apt packages first when run as root (see scripts/install-deps.sh).
# Loop-device tests need root and skip otherwise; with CI=true they fail instead.
# Exits non-zero if the build or any test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
swift build
swift build --product generate-manual  # for the man-page golden test
swift test "$@"
