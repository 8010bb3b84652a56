#!/usr/bin/env bash
# The main job: installs the C libraries if missing, builds in release and runs
# `pointwise demo` (extra arguments are passed on, e.g. --threads 1).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
swift build -c release --product pointwise
.build/release/pointwise info
echo
.build/release/pointwise demo "$@"
