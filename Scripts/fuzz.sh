#!/usr/bin/env bash
# Fuzzes Pointwise with libFuzzer: builds the harnesses of the Fuzz/ package (FuzzNumpy,
# FuzzSafeTensors, FuzzONNX, FuzzGraph; see Fuzz/README.md) with AddressSanitizer and coverage
# (Swift and the C kernels), then runs each for SECONDS (default 60) on a copy of its seed
# corpus (Fuzz/Corpus/<Harness>/, left unmodified).
#
#     Scripts/fuzz.sh [SECONDS]
#     Scripts/fuzz.sh ci            what Scripts/test.sh runs: a fixed number of executions per
#                                   harness (about a minute each here), seed 1, so every machine
#                                   explores exactly the same inputs (the engine runs on one thread
#                                   in the harnesses): a crash in CI is a crash here too
#
# Prints each harness's executions, coverage and corpus; exits nonzero if any harness crashed
# (a trap, an ASan report, a leak, a single input over 2 GB of memory or 30 s), leaving the
# crashing input in a temporary folder whose path is printed: reproduce it with
#     .build-fuzz/release/<Harness> <path>
# and turn it into a test in Tests/PointwiseTests/FuzzRegressionTests.swift.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
ci=0
if [[ "$seconds" == ci ]]; then ci=1; seconds=600; fi  # (600 s: only a cap, the runs end first)
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: Scripts/fuzz.sh [SECONDS|ci]" >&2; exit 2; }
Scripts/install-deps.sh

# Release with debug info: several times the executions per second of a debug build, with the
# same overflow and bounds checks (-O keeps them), and symbolized stacks.
build=(swift build --package-path Fuzz --scratch-path .build-fuzz -c release -j 2
       -Xswiftc -g -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
       -Xcc -fsanitize=fuzzer-no-link,address)
echo "== building the fuzz harnesses (${build[*]}) =="
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pointwise-fuzz.XXXXXX")
# (gold warns "Cannot export local symbol '__asan_...'" for every harness: noise, filtered.)
if ! "${build[@]}" >"$work/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$work/build.log" >&2
    echo "fuzz build failed" >&2
    exit 1
fi
grep -v "Cannot export local symbol\|^\[[0-9]*/[0-9]*\]" "$work/build.log" || true
bin=$("${build[@]}" --show-bin-path)
echo "built in $(( $(date +%s) - start )) s"

# Per harness: the largest input worth mutating (bytes).
harnesses=(FuzzNumpy:4096 FuzzSafeTensors:4096 FuzzONNX:16384 FuzzGraph:512)
# Executions per harness in ci mode (about 60 s each at this machine's speed).
declare -A ci_runs=([FuzzNumpy]=1500000 [FuzzSafeTensors]=1500000 [FuzzONNX]=600000 [FuzzGraph]=200000)
# FUZZ_HARNESSES="FuzzONNX FuzzGraph" runs only those. FUZZ_SEED: libFuzzer's -seed, 1 by default so
# that a run explores the same inputs each time (CI stays reproducible; what it finds is found
# here first); FUZZ_SEED=0 lets libFuzzer pick one (for long exploratory runs).
if [[ -n "${FUZZ_HARNESSES:-}" ]]; then
    selected=()
    for entry in "${harnesses[@]}"; do [[ " $FUZZ_HARNESSES " == *" ${entry%%:*} "* ]] && selected+=("$entry"); done
    harnesses=("${selected[@]}")
fi
seed=${FUZZ_SEED:-1}
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "FUZZ_SEED must be a number, got '$seed'" >&2; exit 2; }
failed=()
summary=()
for entry in "${harnesses[@]}"; do
    name=${entry%%:*}
    maxlen=${entry##*:}
    folder="$work/$name"
    mkdir -p "$folder/corpus"
    cp Fuzz/Corpus/"$name"/* "$folder/corpus/"
    limit=(-max_total_time="$seconds")
    (( ci )) && limit+=(-runs="${ci_runs[$name]}")
    echo "== $name: ${limit[*]}, -max_len=$maxlen, -seed=$seed =="
    status=0
    # -timeout: one input running 30 s is a hang worth reporting; -rss_limit_mb also caps any
    # single allocation (malloc_limit_mb defaults to it). Leaks are detected (ASan's LeakSanitizer).
    # SWIFT_DETERMINISTIC_HASHING: Set and Dictionary orders (per-process random seeds otherwise)
    # would vary the paths taken, and with them what the fuzzer explores.
    # SWIFT_BACKTRACE: the Swift runtime's backtracer would catch a trap before libFuzzer (and trip
    # ASan reading the stack); libFuzzer prints the stack and saves the input itself.
    (cd "$folder" && SWIFT_DETERMINISTIC_HASHING=1 SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin/$name" corpus \
        "${limit[@]}" -max_len="$maxlen" -seed="$seed" -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 -artifact_prefix="$folder/" >"$folder/log" 2>&1) || status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$folder/log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$folder/log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$folder/log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' "$folder/log" | tail -1 || true)
    line="$name: ${executions:-?} executions (${speed:-?}/s), ${coverage:-no coverage line}, peak RSS ${rss:-?} MB"
    if (( status != 0 )); then
        line="$line — FAILED (exit $status)"
        failed+=("$name")
        grep -v '^#[0-9]\|^INFO:\|^	NEW_FUNC' "$folder/log" | tail -60
        for artifact in "$folder"/crash-* "$folder"/leak-* "$folder"/timeout-* "$folder"/oom-* "$folder"/slow-unit-*; do
            [[ -e "$artifact" ]] && echo "crashing input: $artifact (reproduce: $bin/$name $artifact)"
        done
        echo "full log: $folder/log"
    fi
    echo "$line"
    summary+=("$line")
done

echo "== fuzzing summary ($( (( ci )) && echo "ci: fixed runs" || echo "${seconds} s") per harness) =="
printf '%s\n' "${summary[@]}"
if (( ${#failed[@]} > 0 )); then
    echo "crashes in: ${failed[*]} (inputs and logs kept in $work)" >&2
    exit 1
fi
rm -rf "$work"
