#!/usr/bin/env bash
# Regenerates man/blksnapctl.8 and completions/ from the built blksnapctl, so that they
# never drift from the binary (Tests/BlksnapCLITests compares them).
#
#   scripts/gen-docs.sh                     # build (debug), then write man/ and completions/
#   scripts/gen-docs.sh --no-build [--bin-dir BIN] --output-dir DIR
#                                           # use the existing build (in BIN), write into DIR
#
# The manual is what swift-argument-parser generates (NAME, DESCRIPTION of every
# command with its options) with a fixed date, its SYNOPSIS replaced by
# man/sections/synopsis.mdoc and its EXIT STATUS replaced by man/sections/safety.mdoc
# (SAFETY: the v5 hazards and their guards) and man/sections/tail.mdoc (OPTIONS, JSON OUTPUT, ENVIRONMENT, FILES, EXIT STATUS, EXAMPLES, SEE ALSO).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DATE=2026-11-22
build=1
out=.
bin=
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0 ;;
        --output-dir) out="$2"; shift ;;
        --bin-dir) bin="$2"; shift ;;
        *) echo "gen-docs.sh: unknown argument '$1'" >&2; exit 64 ;;
    esac
    shift
done

if [ "$build" = 1 ]; then
    swift build --product blksnapctl >&2
    swift build --product generate-manual >&2
fi
[ -n "$bin" ] || bin=$(swift build --show-bin-path)
tool="$bin/blksnapctl"
# `swift build --product generate-manual` names it generate-manual; the SwiftPM plugin
# names it generate-manual-tool.
manual="$bin/generate-manual"
[ -x "$manual" ] || manual="$bin/generate-manual-tool"
for f in "$tool" "$manual"; do
    [ -x "$f" ] || { echo "gen-docs.sh: $f is not built (run without --no-build)" >&2; exit 69; }
done

mkdir -p "$out/man" "$out/completions"
generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
"$manual" "$tool" --date "$DATE" --section 8 -o - > "$generated"

awk -v synopsis=man/sections/synopsis.mdoc -v safety=man/sections/safety.mdoc -v tail=man/sections/tail.mdoc '
    function include(file,   line) { while ((getline line < file) > 0) print line; close(file) }
    /^\.Sh SYNOPSIS$/        { include(synopsis); skipping = 1; next }
    /^\.Sh DESCRIPTION$/     { skipping = 0 }
    /^\.Sh "EXIT STATUS"$/   { include(safety); include(tail); done = 1 }
    /^\.Nd /                 { sub(/\.$/, "") }
    # mdoc wants every sentence on its own line (mandoc -T lint: "new sentence, new line").
    # No text line may start with a control character (a dot or an apostrophe): escape it.
    !skipping && !done && !/^\./ {
        n = split($0, sentences, /\. /)
        for (i = 1; i <= n; i++) {
            line = sentences[i] (i < n ? "." : "")
            if (line ~ /^[.\047]/) line = "\\&" line
            print line
        }
        next
    }
    !skipping && !done       { print }
' "$generated" > "$out/man/blksnapctl.8"

"$tool" --generate-completion-script bash > "$out/completions/blksnapctl.bash"
"$tool" --generate-completion-script zsh > "$out/completions/_blksnapctl"
"$tool" --generate-completion-script fish > "$out/completions/blksnapctl.fish"
echo "gen-docs.sh: wrote $out/man/blksnapctl.8 and $out/completions/{blksnapctl.bash,_blksnapctl,blksnapctl.fish}" >&2
