#!/usr/bin/env bash
# The main job: installs the C libraries if missing, builds in release and runs the
# benchmark's default suite (`pointwise bench`, about 2 minutes on 2 cores). Extra
# arguments are passed on, e.g. `Scripts/run.sh --threads 1 --json bench.json`.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
swift build -c release --product pointwise
.build/release/pointwise info
echo
.build/release/pointwise bench "$@"
