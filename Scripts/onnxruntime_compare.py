#!/usr/bin/env python3
"""Times Pointwise against ONNX Runtime on the four networks, same weights, same run.

Usage:
    Scripts/install-bench-python.sh     # once: numpy, matplotlib, onnxruntime for python3
    Scripts/install-torch.sh            # once: Debian's torch for /usr/bin/python3
    python3 Scripts/onnxruntime_compare.py [--networks NAME ...] [--threads 1 2]
        [--batch N] [--repetitions R] [--warmup W] [--pointwise PATH]
        [--work DIR] [--json FILE] [--ort-only]

For each network (resnet50, googlenet, mobilenet_v1, mobilenet_v2; all by default):
  1. /usr/bin/python3 Scripts/torch_reference.py --network NAME --batch N --seed 0
     --out WORK/NAME --onnx builds the network with torch_reference's seeded
     weights and writes weights.safetensors, input.npy, output.npy (PyTorch's
     logits) and model.onnx (the same model, torch.onnx.export, opset 13, static
     shape). Debian's interpreter is used because it has torch; this script
     itself runs under python3 with numpy and onnxruntime.
  2. For each thread count T, one after the other so that both see the same
     machine state:
     a. ONNX Runtime, CPU execution provider, intra_op_num_threads=T,
        inter_op_num_threads=1, ORT_ENABLE_ALL graph optimisations: W warm-up
        runs, then R timed runs of session.run on input.npy (perf_counter
        around each call); the session is closed before step b.
     b. Pointwise: PATH run NAME --weights WORK/NAME/weights.safetensors
        --input WORK/NAME/input.npy --output WORK/NAME/pointwise-tT.npy
        --threads T --repetitions R, whose own timing is read from the line
            timing: median_ms=12.345 min_ms=12.001 reps=20 threads=1
        (key=value pairs after "timing:", in any order; median_ms and min_ms are
        required, other keys are kept if numeric; the last such line on stdout
        or stderr counts). Loading the weights and the process start are
        therefore not in Pointwise's time, as session creation is not in ORT's.
Agreement is max|a - b| / max|b| over the logits: Pointwise vs ORT, Pointwise vs
PyTorch (output.npy) and ORT vs PyTorch.

Prints a table and, with --json FILE, writes
    {"command", "date", "machine": {"cpu", "cores"}, "onnxruntime_version",
     "torch_version", "torchvision_version", "numpy_version", "onnx_opset",
     "batch", "warmup", "repetitions", "ort_settings", "pointwise",
     "rows": [{"network", "batch", "threads",
               "ort_median_ms", "ort_min_ms", "ort_reps",
               "pointwise_median_ms", "pointwise_min_ms", "pointwise_reps",
               "pointwise_over_ort", "pointwise_vs_ort", "pointwise_vs_torch",
               "ort_vs_torch", "pointwise_error"}]}
with null for what was not measured (pointwise_error holds the reason).
Scripts/plot_bench.py --onnx FILE turns it into a table in docs/performance.md.

--ort-only skips Pointwise (ORT timings and ORT vs PyTorch only). --work keeps
the generated files in DIR (default: a temporary directory, removed afterwards).
Exit status 1 if a step failed or an agreement is above --tolerance (default 1e-3).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import onnxruntime as ort
except ImportError:
    sys.exit("onnxruntime is not installed for this python3: run Scripts/install-bench-python.sh")

NETWORKS = ("resnet50", "googlenet", "mobilenet_v1", "mobilenet_v2")
SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
TORCH_PYTHON = "/usr/bin/python3"
SEED = 0

TIMING_LINE = re.compile(r"^\s*timing:\s*(?P<fields>.*)$", re.MULTILINE)
TIMING_FIELD = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*"
                          r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def parse_timing(text):
    """Returns the numeric key=value pairs of the last "timing:" line in text,
    e.g. {"median_ms": 12.345, "min_ms": 12.001, "reps": 20, "threads": 1},
    or None when there is no such line with median_ms and min_ms."""
    for match in reversed(list(TIMING_LINE.finditer(text))):
        fields = {}
        for field in TIMING_FIELD.finditer(match.group("fields")):
            value = float(field.group("value"))
            fields[field.group("key")] = int(value) if value.is_integer() and field.group("key") in ("reps", "threads") else value
        if "median_ms" in fields and "min_ms" in fields:
            return fields
    return None


def relative_error(a, b):
    """max|a - b| / max|b|, or None when the shapes differ."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return None
    return float(np.abs(a - b).max() / np.abs(b).max())


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def generate(network, batch, out, torch_python):
    """Runs torch_reference.py --onnx for network into out; returns its info.json."""
    command = [torch_python, str(SCRIPTS / "torch_reference.py"), "--network", network,
               "--batch", str(batch), "--seed", str(SEED), "--out", str(out), "--onnx"]
    print(f"$ {shlex.join(command)}", flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if output:
        print("  " + output.replace("\n", "\n  "), flush=True)
    if result.returncode != 0:
        raise RuntimeError(f"torch_reference.py failed for {network} (exit {result.returncode})")
    return json.loads((out / "info.json").read_text())


def time_onnxruntime(model_path, inputs, threads, warmup, repetitions):
    """Returns (seconds per timed run, output of the last run)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    try:
        (input_meta,) = session.get_inputs()
        if list(input_meta.shape) != list(inputs.shape):
            raise RuntimeError(f"{model_path}: input {input_meta.name} {input_meta.shape}, "
                               f"input.npy {list(inputs.shape)}")
        feed = {input_meta.name: inputs}
        for _ in range(warmup):
            session.run(None, feed)
        times = []
        for _ in range(repetitions):
            started = time.perf_counter()
            (output,) = session.run(None, feed)
            times.append(time.perf_counter() - started)
    finally:
        del session  # its thread pool is gone before Pointwise runs
    return times, output


def run_pointwise(binary, network, directory, threads, repetitions):
    """Runs `pointwise run`; returns (timing fields, output array)."""
    output_path = directory / f"pointwise-t{threads}.npy"
    if output_path.exists():
        output_path.unlink()
    command = [str(binary), "run", network,
               "--weights", str(directory / "weights.safetensors"),
               "--input", str(directory / "input.npy"),
               "--output", str(output_path),
               "--threads", str(threads), "--repetitions", str(repetitions)]
    print(f"$ {shlex.join(command)}", flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    text = result.stdout + "\n" + result.stderr
    tail = " / ".join(line.strip() for line in text.strip().splitlines()[-4:] if line.strip())
    if result.returncode != 0:
        raise RuntimeError(f"exit status {result.returncode}: {tail}")
    timing = parse_timing(text)
    if timing is None:
        raise RuntimeError("no line 'timing: median_ms=... min_ms=... reps=... threads=...' "
                           f"in its output: {tail}")
    if "threads" in timing and timing["threads"] != threads:
        print(f"  warning: asked for --threads {threads}, timing line says threads={timing['threads']}",
              flush=True)
    if not output_path.exists():
        raise RuntimeError(f"it did not write {output_path}")
    return timing, np.load(output_path)


def format_ms(value):
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def format_error(value):
    return "-" if value is None else f"{value:.1e}"


def print_table(rows):
    header = ("network", "threads", "ORT median ms", "ORT min ms", "PW median ms", "PW min ms",
              "PW/ORT", "PW vs ORT", "PW vs torch", "ORT vs torch")
    lines = [header]
    for row in rows:
        ratio = row["pointwise_over_ort"]
        lines.append((row["network"], str(row["threads"]),
                      format_ms(row["ort_median_ms"]), format_ms(row["ort_min_ms"]),
                      format_ms(row["pointwise_median_ms"]), format_ms(row["pointwise_min_ms"]),
                      "-" if ratio is None else f"{ratio:.2f}",
                      format_error(row["pointwise_vs_ort"]), format_error(row["pointwise_vs_torch"]),
                      format_error(row["ort_vs_torch"])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(line, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    errors = [row for row in rows if row["pointwise_error"]]
    for row in errors:
        print(f"Pointwise, {row['network']}, {row['threads']} thread(s): {row['pointwise_error']}")
    print("Agreement: max|a - b| / max|b| over the logits (b the second one named).")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", choices=NETWORKS, default=list(NETWORKS),
                        metavar="NAME", help=f"networks to compare (default: all of {', '.join(NETWORKS)})")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], metavar="T",
                        help="thread counts (default: 1 2)")
    parser.add_argument("--batch", type=int, default=1, metavar="N", help="images per run (default 1)")
    parser.add_argument("--repetitions", type=int, default=20, metavar="R",
                        help="timed runs for ORT, and --repetitions for pointwise run (default 20)")
    parser.add_argument("--warmup", type=int, default=3, metavar="W",
                        help="untimed ORT runs before the timed ones (default 3)")
    parser.add_argument("--pointwise", type=Path, default=Path(".build/release/pointwise"), metavar="PATH",
                        help="the pointwise binary (default .build/release/pointwise, relative to "
                             "the current directory, else to the package root)")
    parser.add_argument("--work", type=Path, metavar="DIR",
                        help="where to write the generated files (default: a temporary directory, removed)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument("--ort-only", action="store_true", help="do not run Pointwise")
    parser.add_argument("--torch-python", default=TORCH_PYTHON, metavar="PYTHON",
                        help=f"interpreter with torch for torch_reference.py (default {TORCH_PYTHON})")
    parser.add_argument("--tolerance", type=float, default=1e-3,
                        help="largest acceptable agreement value (default 1e-3)")
    args = parser.parse_args()
    if args.batch < 1 or args.repetitions < 1 or args.warmup < 0 or min(args.threads) < 1:
        parser.error("--batch, --repetitions and --threads must be positive, --warmup not negative")
    if not args.ort_only:
        binary = args.pointwise
        if not binary.is_absolute() and not binary.exists() and (ROOT / binary).exists():
            binary = ROOT / binary
        if not binary.exists():
            parser.error(f"{args.pointwise} not found: build it (swift build -c release), "
                         "pass --pointwise PATH, or use --ort-only")
        args.pointwise = binary.absolute()
    return args


def compare(args, work):
    rows = []
    versions = {}
    failed = False
    for network in args.networks:
        directory = work / network
        info = generate(network, args.batch, directory, args.torch_python)
        versions = {"torch_version": info["torch_version"],
                    "torchvision_version": info["torchvision_version"],
                    "onnx_opset": info.get("onnx_opset")}
        inputs = np.load(directory / "input.npy")
        reference = np.load(directory / "output.npy")
        for threads in args.threads:
            row = {"network": network, "batch": args.batch, "threads": threads}
            print(f"{network}, {threads} thread(s): ONNX Runtime, {args.warmup} warm-up + "
                  f"{args.repetitions} timed runs", flush=True)
            times, ort_output = time_onnxruntime(directory / "model.onnx", inputs, threads,
                                                 args.warmup, args.repetitions)
            row.update(ort_median_ms=1e3 * statistics.median(times), ort_min_ms=1e3 * min(times),
                       ort_reps=len(times))
            pw_output = None
            timing = {}
            pointwise_error = None
            if args.ort_only:
                pointwise_error = "not run (--ort-only)"
            else:
                try:
                    timing, pw_output = run_pointwise(args.pointwise, network, directory, threads,
                                                      args.repetitions)
                except (RuntimeError, OSError, ValueError) as error:
                    pointwise_error = str(error)
                    failed = True
                    print(f"  failed: {error}", flush=True)
            row.update(pointwise_median_ms=timing.get("median_ms"), pointwise_min_ms=timing.get("min_ms"),
                       pointwise_reps=timing.get("reps"))
            row["pointwise_over_ort"] = (row["pointwise_median_ms"] / row["ort_median_ms"]
                                         if row["pointwise_median_ms"] is not None else None)
            row["ort_vs_torch"] = relative_error(ort_output, reference)
            row["pointwise_vs_ort"] = None if pw_output is None else relative_error(pw_output, ort_output)
            row["pointwise_vs_torch"] = None if pw_output is None else relative_error(pw_output, reference)
            if pw_output is not None and pw_output.shape != reference.shape:
                pointwise_error = f"output shape {list(pw_output.shape)}, expected {list(reference.shape)}"
                failed = True
            row["pointwise_error"] = pointwise_error
            for key in ("ort_vs_torch", "pointwise_vs_ort", "pointwise_vs_torch"):
                if row[key] is not None and not row[key] <= args.tolerance:
                    print(f"  warning: {key} = {row[key]:.3g} is above --tolerance {args.tolerance:g}",
                          flush=True)
                    failed = True
            print(f"  ORT median {format_ms(row['ort_median_ms'])} ms, min {format_ms(row['ort_min_ms'])} ms; "
                  f"Pointwise median {format_ms(row['pointwise_median_ms'])} ms, "
                  f"min {format_ms(row['pointwise_min_ms'])} ms; ORT vs torch "
                  f"{format_error(row['ort_vs_torch'])}", flush=True)
            rows.append(row)
    return rows, versions, failed


def main():
    args = parse_args()
    command = "python3 " + shlex.join(["Scripts/onnxruntime_compare.py"] + sys.argv[1:])
    started = datetime.datetime.now(datetime.timezone.utc)
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        rows, versions, failed = compare(args, args.work.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="pointwise-ort-") as work:
            rows, versions, failed = compare(args, Path(work))
    print_table(rows)
    if args.json:
        result = {
            "command": command,
            "date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": {"cpu": cpu_model(), "cores": os.cpu_count()},
            "onnxruntime_version": ort.__version__,
            **versions,
            "numpy_version": np.__version__,
            "batch": args.batch,
            "warmup": args.warmup,
            "repetitions": args.repetitions,
            "ort_settings": "CPUExecutionProvider, intra_op_num_threads = threads, "
                            "inter_op_num_threads = 1, ORT_SEQUENTIAL, ORT_ENABLE_ALL",
            "pointwise": None if args.ort_only else str(args.pointwise),
            "rows": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
