#!/usr/bin/env python3
"""Pointwise against ONNX Runtime and OpenVINO on the same ONNX files, weights and inputs, in one run.

Usage (Scripts/compare-peers.sh sets everything up and calls this with the venv's python):
    .venv-onnx/bin/python Scripts/compare_peers.py [--networks NAME ...] [--threads 1 2] [--batches 1 8]
        [--rounds 4] [--repetitions 10] [--pointwise .build/release/pointwise] [--models .onnx-data/models]
        [--json docs/peers.json] [--markdown docs/performance-peers.md] [--chart docs/peers.png]

Models: DIR/NAME/model.onnx from Scripts/export_onnx_models.py (torchvision ResNet-50, GoogLeNet,
MobileNetV2 and a MobileNetV1, seeded weights, BatchNorm kept as nodes, symbolic batch), with
DIR/NAME/input.npy (batch 2, seeded) and torch_output.npy. Batch B uses the first image repeated.

For each network, batch and thread count T, the engines alternate in rounds (A B C, A B C, ...; the
order rotates each round so no engine always runs right after another), each round timing
--repetitions runs after 2 warm-up runs:
  - ONNX Runtime: CPUExecutionProvider, intra_op_num_threads=T, inter_op_num_threads=1,
    sequential execution, ORT_ENABLE_ALL; the session made once.
  - OpenVINO: CPU device, INFERENCE_NUM_THREADS=T, NUM_STREAMS=1, PERFORMANCE_HINT=LATENCY,
    INFERENCE_PRECISION_HINT=f32 (no bf16/f16 shortcuts); compiled once.
  - Pointwise: `pointwise run MODEL.onnx --input x.npy --threads T --repetitions R` in a fresh process;
    its own "timing:" line (runs only: import and planning are not timed, as session creation is not
    for the others).
With --isa avx2 (on an AVX-512 machine, to estimate an AVX2-only one): Pointwise runs with
POINTWISE_ISA=avx2 and OPENBLAS_CORETYPE=Haswell (OpenBLAS's AVX2 kernels, those it picks on Zen
and Haswell), OpenVINO with ONEDNN_MAX_CPU_ISA=AVX2 (its oneDNN convolutions then use AVX2 code);
ONNX Runtime cannot be restricted (MLAS picks its kernels from CPUID), so it keeps AVX-512 and the
report gives the ratio to OpenVINO beside the ratio to the best peer.
Reported per row: min and median over all timed runs, the ratio of Pointwise's min to the best
peer's min (and the same for medians), and each engine's normalised error against PyTorch's
logits (batch 2 input only) and against each other.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ("resnet50", "googlenet", "mobilenet_v2", "mobilenet_v1")
TIMING = re.compile(r"timing:\s*median_ms=(?P<median>[0-9.]+)\s+min_ms=(?P<min>[0-9.]+)")


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    except OSError:
        pass
    return "unknown"


def normalised_error(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


class ORT:
    name = "ONNX Runtime"

    def __init__(self, model, threads):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def run(self, x):
        return self.session.run(None, {self.input: x})[0]


class OpenVINO:
    name = "OpenVINO"

    def __init__(self, model, threads):
        import openvino as ov
        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": "f32"}
        self.compiled = core.compile_model(core.read_model(str(model)), "CPU", config)
        self.request = self.compiled.create_infer_request()

    def run(self, x):
        self.request.infer({0: x})
        return self.request.get_output_tensor(0).data.copy()


def time_in_process(engine, x, repetitions):
    for _ in range(2):
        engine.run(x)
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        engine.run(x)
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def time_pointwise(binary, model, x_path, out_path, threads, repetitions, environment):
    command = [str(binary), "run", str(model), "--input", str(x_path), "--output", str(out_path),
               "--threads", str(threads), "--repetitions", str(repetitions)]
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    match = TIMING.search(result.stdout)
    if not match:
        raise RuntimeError(f"no timing line in:\n{result.stdout[-2000:]}")
    return float(match["min"]), float(match["median"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--batches", nargs="+", type=int, default=[1])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--pointwise", type=Path, default=ROOT / ".build/release/pointwise")
    parser.add_argument("--models", type=Path, default=ROOT / ".onnx-data/models")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--chart", type=Path)
    parser.add_argument("--isa", choices=("native", "avx2"), default="native",
                        help="avx2: restrict Pointwise and OpenVINO to AVX2 code (ONNX Runtime cannot be)")
    args = parser.parse_args()

    environment = dict(os.environ)
    if args.isa == "avx2":
        environment.update(POINTWISE_ISA="avx2", OPENBLAS_CORETYPE="Haswell")
        # oneDNN reads it once, when OpenVINO's CPU plugin loads: set before the import.
        os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    import onnxruntime
    import openvino
    rows = []
    work = Path(tempfile.mkdtemp(prefix="pointwise-peers-"))
    blas = subprocess.run([str(args.pointwise), "info"], capture_output=True, text=True, env=environment).stdout
    # The core's FMA peak (`pointwise info` measures it): a network's GFLOP/s over threads × this
    # is the share of the machine's arithmetic an engine uses.
    fma_peak = next((float(l.split(":", 1)[1].split()[0]) for l in blas.splitlines() if l.startswith("FMA peak")), None)
    for name in args.networks:
        model = args.models / name / "model.onnx"
        summary = subprocess.run([str(args.pointwise), "summary", str(model)], capture_output=True, text=True).stdout
        macs = next((int(l.split(":", 1)[1].split()[0].replace(",", "")) for l in summary.splitlines()
                     if l.startswith("total MACs")), None)
        base = np.load(args.models / name / "input.npy").astype(np.float32)
        torch_output = np.load(args.models / name / "torch_output.npy")
        for batch in args.batches:
            x = np.ascontiguousarray(np.repeat(base[:1], batch, axis=0)) if batch != base.shape[0] else base
            x_path = work / f"{name}-b{batch}.npy"
            np.save(x_path, x)
            for threads in args.threads:
                engines = [ORT(model, threads), OpenVINO(model, threads)]
                samples = {engine.name: [] for engine in engines}
                pointwise_min, pointwise_median = [], []
                outputs = {}
                for round_index in range(args.rounds):
                    order = ["Pointwise"] + [e.name for e in engines]
                    order = order[round_index % 3:] + order[:round_index % 3]
                    for engine_name in order:
                        if engine_name == "Pointwise":
                            low, middle = time_pointwise(args.pointwise, model, x_path, work / "out.npy", threads, args.repetitions,
                                                         environment)
                            pointwise_min.append(low)
                            pointwise_median.append(middle)
                            outputs["Pointwise"] = np.load(work / "out.npy")
                        else:
                            engine = next(e for e in engines if e.name == engine_name)
                            samples[engine_name] += time_in_process(engine, x, args.repetitions)
                            outputs[engine_name] = engine.run(x)
                row = {"network": name, "batch": batch, "threads": threads,
                       "pointwise_min_ms": min(pointwise_min), "pointwise_median_ms": statistics.median(pointwise_median)}
                for engine in engines:
                    key = "ort" if engine.name == "ONNX Runtime" else "openvino"
                    row[f"{key}_min_ms"] = min(samples[engine.name])
                    row[f"{key}_median_ms"] = statistics.median(samples[engine.name])
                best_min = min(row["ort_min_ms"], row["openvino_min_ms"])
                if macs and fma_peak:
                    # Multiply-adds of the graph as Pointwise counts them (convolutions and matrix products).
                    row["gflop"] = 2 * macs * batch / 1e9
                    for key in ("pointwise", "ort", "openvino"):
                        row[f"{key}_peak_share"] = row["gflop"] / (row[f"{key}_min_ms"] / 1e3) / (fma_peak * threads)
                best_median = min(row["ort_median_ms"], row["openvino_median_ms"])
                row["best_peer"] = "ONNX Runtime" if row["ort_min_ms"] <= row["openvino_min_ms"] else "OpenVINO"
                row["ratio_min"] = row["pointwise_min_ms"] / best_min
                row["ratio_median"] = row["pointwise_median_ms"] / best_median
                row["ratio_min_openvino"] = row["pointwise_min_ms"] / row["openvino_min_ms"]
                if batch == base.shape[0]:
                    for engine_name, output in outputs.items():
                        row[f"{engine_name}_vs_torch"] = normalised_error(output, torch_output)
                row["pointwise_vs_ort"] = normalised_error(outputs["Pointwise"], outputs["ONNX Runtime"])
                row["pointwise_vs_openvino"] = normalised_error(outputs["Pointwise"], outputs["OpenVINO"])
                rows.append(row)
                print(f"{name:13s} b{batch} t{threads}: Pointwise {row['pointwise_min_ms']:7.2f} ms, "
                      f"ORT {row['ort_min_ms']:7.2f}, OpenVINO {row['openvino_min_ms']:7.2f} (min); "
                      f"ratio to best {row['ratio_min']:.2f} (min), {row['ratio_median']:.2f} (median), "
                      f"to OpenVINO {row['ratio_min_openvino']:.2f}; "
                      f"vs ORT {row['pointwise_vs_ort']:.1e}", flush=True)
                del engines

    core = next((l.split(":", 1)[1].strip() for l in blas.splitlines() if l.startswith("BLAS core")), "?")
    config = next((l.split(":", 1)[1].strip() for l in blas.splitlines() if l.startswith("BLAS config")), "?")
    isa = cpu_flags() if args.isa == "native" else f"{cpu_flags()} restricted to AVX2 (ONNX Runtime unrestricted)"
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": cpu_model(), "isa": isa,
              "cores": os.cpu_count(), "openblas_core": core, "openblas_config": config, "fma_peak_gflops_per_core": fma_peak,
              "onnxruntime": onnxruntime.__version__, "openvino": openvino.__version__,
              "rounds": args.rounds, "repetitions": args.repetitions, "command": " ".join(sys.argv), "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        lines = [f"Measured {report['date']} on {report['cpu']} ({report['isa']}, {report['cores']} cores), OpenBLAS core "
                 f"{core}; ONNX Runtime {report['onnxruntime']}, OpenVINO {report['openvino']}; "
                 f"{args.rounds} rounds × {args.repetitions} runs per engine, alternating (`{report['command']}`). "
                 f"FMA peak {fma_peak} GFLOP/s per core (`pointwise info`); *share of peak*: the network's nominal multiply-adds "
                 f"(direct convolution, × 2) per second at the minimum, over threads × peak: above 100 % only by doing "
                 f"fewer multiplications (Winograd).", "",
                 "| network | batch | threads | Pointwise min / median (ms) | ONNX Runtime | OpenVINO | Pointwise ÷ best peer (min) | (median) "
                 "| ÷ OpenVINO (min) | share of peak: Pointwise / best peer | error vs PyTorch |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            error = r.get("Pointwise_vs_torch")
            peer = "ort" if r["best_peer"] == "ONNX Runtime" else "openvino"
            share = (f"{100 * r['pointwise_peak_share']:.0f} % / {100 * r[f'{peer}_peak_share']:.0f} %"
                     if "pointwise_peak_share" in r else "–")
            lines.append(f"| {r['network']} | {r['batch']} | {r['threads']} | {r['pointwise_min_ms']:.1f} / {r['pointwise_median_ms']:.1f} "
                         f"| {r['ort_min_ms']:.1f} / {r['ort_median_ms']:.1f} | {r['openvino_min_ms']:.1f} / {r['openvino_median_ms']:.1f} "
                         f"| **{r['ratio_min']:.2f}** | {r['ratio_median']:.2f} | {r['ratio_min_openvino']:.2f} | {share} | {f'{error:.1e}' if error is not None else '–'} |")
        args.markdown.write_text("\n".join(lines) + "\n")
    if args.chart:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        labels = [f"{r['network']}\nb{r['batch']} t{r['threads']}" for r in rows]
        positions = np.arange(len(rows))
        figure, axis = plt.subplots(figsize=(max(8, 1.1 * len(rows)), 4.5))
        for offset, (key, label) in zip((-0.27, 0, 0.27), (("pointwise", "Pointwise"), ("ort", "ONNX Runtime"), ("openvino", "OpenVINO"))):
            axis.bar(positions + offset, [r[f"{key}_min_ms"] for r in rows], 0.27, label=label)
        axis.set_xticks(positions, labels, fontsize=8)
        axis.set_yscale("log")  # batch 8 and batch 1 on one chart
        axis.set_ylabel("latency, min over runs (ms, log scale)")
        axis.set_title(f"{report['cpu']} ({report['isa']}), OpenBLAS {core}")
        axis.legend()
        figure.tight_layout()
        figure.savefig(args.chart, dpi=110)
    print(f"wrote {', '.join(str(p) for p in (args.json, args.markdown, args.chart) if p)}")


if __name__ == "__main__":
    main()
