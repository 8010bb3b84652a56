#!/usr/bin/env bash
# The whole test suite, on a fresh machine with only the Swift toolchain:
# installs the C libraries if missing, runs the tests in a release build
# (the naive references are 10-100x slower in debug), with PyTorch installed for
# the agreement tests, then builds and runs
# the example package in docs/example that depends on Pointwise, fuzzes the parsers and the
# graph compiler, and runs the suite under AddressSanitizer and ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
# PyTorch (Debian's) for the whole-network agreement tests and the ONNX exports.
Scripts/install-torch.sh
# ONNX's conformance data, the case list, exported torchvision models, ONNX Runtime's outputs.
Scripts/prepare-onnx-tests.sh
swift test -c release -Xswiftc -enable-testing "$@"
# Resizes the process-wide pool under concurrent callers, so it runs alone (ThreadPoolTests).
echo "== the thread pool resized under concurrent callers =="
POINTWISE_POOL_RESIZE_TEST=1 swift test -c release -Xswiftc -enable-testing --filter 'ThreadPoolTests'
echo "== example package (docs/example) =="
swift run --package-path docs/example -c release quickstart
# The readers, the ONNX importer and the graph compiler under libFuzzer with AddressSanitizer,
# a fixed number of runs per harness, about a minute each (Fuzz/README.md); then the suite under AddressSanitizer and ThreadSanitizer.
# POINTWISE_TEST_QUICK=1 skips both (a quicker local run; CI never sets it).
if [[ -z "${POINTWISE_TEST_QUICK:-}" ]]; then
    Scripts/fuzz.sh ci
    Scripts/sanitizers.sh address thread
fi
