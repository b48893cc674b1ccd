#!/usr/bin/env bash
# Runs the main job, `blksnapctl demo`: a full snapshot scenario on the embedded
# simulator (no kernel module, no root needed).
#
#   scripts/demo.sh            # extra arguments go to `blksnapctl demo`
#
# Installs missing apt packages first when run as root (see scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
swift run blksnapctl demo "$@"
