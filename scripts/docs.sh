#!/usr/bin/env bash
# Builds BlksnapKit's DocC documentation — the catalog Sources/BlksnapKit/BlksnapKit.docc
# (landing page and articles) and the doc comments of the public API — with
# swift-docc-plugin, and fails on any warning (a broken symbol link, an unknown
# parameter, a compiler warning while extracting the symbol graph).
#
#   scripts/docs.sh [OUTPUT_DIR]
#
# OUTPUT_DIR becomes the documentation archive (laid out for static hosting); without it
# the archive goes to a temporary directory outside the work tree, removed at the end.
# The articles' code is compiled and compared with the articles by the tests
# (Tests/Fixtures/DocSnippets, DocCArticleTests), not here. Prints the wall time and the
# warning count; exits non-zero when docc fails or anything warned.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scratch=$(mktemp -d "${TMPDIR:-/tmp}/blksnap-docs.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
output="${1:-$scratch/BlksnapKit.doccarchive}"
log="$scratch/docc.log"

start=$(date +%s%N)
status=0
# --disable-sandbox: the plugin writes OUTPUT_DIR, outside the package; docc itself gets
# --warnings-as-errors, so every DocC warning also fails the run.
swift package --disable-sandbox generate-documentation --target BlksnapKit \
    --warnings-as-errors --output-path "$output" 2>&1 | tee "$log" || status=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))

# DocC diagnostics ("warning:"; "error:" once promoted) and compiler warnings alike.
warnings=$(grep -cE "(^|: )(warning|error): " "$log" || true)
printf 'docs.sh: wall time %d.%03d s, %d warning(s), docc exit %d\n' \
    $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$warnings" "$status"
if [ "$status" -ne 0 ] || [ "$warnings" -ne 0 ]; then
    echo "docs.sh: the documentation has warnings or failed to build (above)" >&2
    exit 1
fi
if [ -n "${1:-}" ]; then echo "docs.sh: archive at $output"; fi
