#!/usr/bin/env bash
# The whole test suite, on a fresh machine with only the Swift toolchain:
# installs the C libraries if missing, runs the tests in a release build
# (the naive references are 10-100x slower in debug), with PyTorch installed for
# the agreement tests, then builds and runs
# the example package in docs/example that depends on Pointwise.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
# PyTorch (Debian's) for the whole-network agreement tests and the ONNX exports.
Scripts/install-torch.sh
# ONNX's conformance data, the case list, exported torchvision models, ONNX Runtime's outputs.
Scripts/prepare-onnx-tests.sh
swift test -c release -Xswiftc -enable-testing "$@"
echo "== example package (docs/example) =="
swift run --package-path docs/example -c release quickstart
