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
    # The hand-written sections: text lines folded like the generated ones (literal
    # displays kept as they are).
    function include(file,   line, literal) {
        while ((getline line < file) > 0) {
            if (line ~ /^\.Bd -literal/) literal = 1
            if (line ~ /^\.Ed/) literal = 0
            if (literal || line ~ /^\./) print line; else fold(line)
        }
        close(file)
    }
    /^\.Sh SYNOPSIS$/        { include(synopsis); skipping = 1; next }
    /^\.Sh DESCRIPTION$/     { skipping = 0 }
    /^\.Sh "EXIT STATUS"$/   { include(safety); include(tail); done = 1 }
    # No trailing full stop in the one-line description (quoted or not).
    /^\.Nd /                 { sub(/\."$/, "\""); sub(/\.$/, "") }
    # mdoc wants every sentence on its own line (mandoc -T lint: "new sentence, new line")
    # and text lines of at most 80 bytes: sentences are split, then folded at spaces (the
    # same filled text). A literal "--" is written \-\- (a double hyphen, not a dash).
    # No text line may start with a control character (a dot or an apostrophe): escape it.
    function emit(line) {
        if (line ~ /^[.\047]/) line = "\\&" line
        print line
    }
    function fold(line,   cut, j) {
        while (length(line) > 80) {
            cut = 0
            for (j = 81; j > 1; j--) if (substr(line, j, 1) == " ") { cut = j; break }
            if (cut == 0) break
            emit(substr(line, 1, cut - 1))
            line = substr(line, cut + 1)
        }
        emit(line)
    }
    !skipping && !done && !/^\./ {
        gsub(/ -- /, " \\-\\- ")
        n = split($0, sentences, /\. /)
        for (i = 1; i <= n; i++) {
            fold(sentences[i] (i < n ? "." : ""))
        }
        next
    }
    !skipping && !done       { print }
' "$generated" > "$out/man/blksnapctl.8"

"$tool" --generate-completion-script bash > "$out/completions/blksnapctl.bash"
"$tool" --generate-completion-script zsh > "$out/completions/_blksnapctl"
"$tool" --generate-completion-script fish > "$out/completions/blksnapctl.fish"
echo "gen-docs.sh: wrote $out/man/blksnapctl.8 and $out/completions/{blksnapctl.bash,_blksnapctl,blksnapctl.fish}" >&2
