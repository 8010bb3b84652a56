#!/usr/bin/env bash
# The test suite under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer, debug builds,
# each in its own scratch folder (.build-asan, .build-tsan), Swift and the C kernels instrumented.
#
#     Scripts/sanitizers.sh [address|thread]...     (default: both)
#
# What runs: every suite except the ones skipped below, which are whole networks, ONNX
# conformance and real models, or benchmark-like, and would take hours in an instrumented debug
# build (the release suite of Scripts/test.sh runs them). What is left still covers every
# operator and kernel (on every ISA), the planner and memory plan, the random-DAG engine test,
# the concurrency tests (4 threads × 50 forwards on one session, two-thread kernels), the
# readers, the ONNX importer's unit tests and the fuzz regression tests.
#
# OpenBLAS is not instrumented: ASan cannot see its reads and writes (only their effects on
# instrumented memory), and TSan cannot see its threads (Pointwise runs OpenBLAS on one thread).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh

# Swift Testing --skip takes a regular expression matched against test IDs
# (PointwiseTests.Suite/function(labels:)).
skipped=(
    # ONNX's backend cases, the wheel's models, torchvision exports, a pretrained EfficientNet:
    # minutes in a release build; needs Scripts/prepare-onnx-tests.sh.
    'ONNXConformanceTests'
    # Whole networks (ResNet-50, GoogLeNet, MobileNet V1/V2) run forward, against PyTorch or planned at batch 8.
    'TorchAgreementTests/network\('
    'TorchAgreementTests/googLeNetTransformInput'
    'NetworkTests/forward\('
    'PlanningTests/networks\('
    'NonFiniteTests/networkPropagatesNaN'
    # The CLI in subprocesses: timing and allocation counting (a malloc interposer in LD_PRELOAD,
    # which does not mix with the sanitizers' allocators).
    'CommandLineTests'
)
skip=$(IFS='|'; echo "${skipped[*]}")

sanitizers=("$@")
(( ${#sanitizers[@]} > 0 )) || sanitizers=(address thread)
for sanitizer in "${sanitizers[@]}"; do
    case "$sanitizer" in
        address)
            scratch=.build-asan
            # LeakSanitizer on; a report (or a leak) fails the run. Scripts/lsan-suppressions.txt
            # explains its one entry (a leak inside Foundation's Process).
            export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}"
            export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/Scripts/lsan-suppressions.txt:print_suppressions=0}"
            ;;
        thread)
            scratch=.build-tsan
            # Scripts/tsan-suppressions.txt explains each entry (if there is any).
            suppressions=
            [[ -f Scripts/tsan-suppressions.txt ]] && suppressions=":suppressions=$PWD/Scripts/tsan-suppressions.txt"
            export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}$suppressions"
            ;;
        *) echo "usage: Scripts/sanitizers.sh [address|thread]..." >&2; exit 2 ;;
    esac
    echo "== swift test --sanitize=$sanitizer (debug, $scratch) =="
    start=$(date +%s)
    # SWIFT_BACKTRACE: let the sanitizer, not the Swift runtime's backtracer, report a crash.
    # --disable-xctest: the suite is Swift Testing; XCTest's empty run leaks in XCTest itself.
    SWIFT_BACKTRACE=enable=no swift test --sanitize="$sanitizer" --scratch-path "$scratch" -j 2 \
        --disable-xctest --skip "$skip"
    # The pool resized under concurrent callers: alone, as in Scripts/test.sh.
    POINTWISE_POOL_RESIZE_TEST=1 SWIFT_BACKTRACE=enable=no swift test --sanitize="$sanitizer" --scratch-path "$scratch" -j 2 \
        --disable-xctest --filter 'ThreadPoolTests'
    echo "== --sanitize=$sanitizer: clean, $(( $(date +%s) - start )) s =="
done
