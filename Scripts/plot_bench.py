#!/usr/bin/env python3
"""Turns the JSON of `pointwise bench --json FILE` into plots and a markdown page.

Usage:
    Scripts/install-bench-python.sh      # once: numpy, matplotlib (and onnxruntime)
    python3 Scripts/plot_bench.py bench.json --out docs [--onnx onnxruntime.json]

Writes to the --out directory (created if needed):
    bench-speedup.png   speedup of the engine over the naive loop, per row (log
                        scale), bars coloured by row kind, one bar per thread count
    bench-gflops.png    achieved GFLOP/s per row, one bar per thread count, the
                        measured SGEMM peak of each thread count as a horizontal
                        line, and the GFLOP/s of bare SGEMM on the same GEMM shapes
                        as a marker on each bar
    bench-scaling.png   the scaling sweep (1x1 convolutions, spatial x channels),
                        time against FLOPs on log-log axes, naive loop and engine,
                        one line per channel count and method, one panel per
                        thread count, with the slope-1 line FLOPs / peak
    performance.md      the machine, the three images, a table of every row per
                        thread count, the sweep tables and, with --onnx FILE (the
                        --json output of Scripts/onnxruntime_compare.py), a section
                        "Against ONNX Runtime"
The images are referenced by file name, so performance.md belongs next to them.
"""

import argparse
import json
import math
import re
import sys
from pathlib import Path

try:
    import matplotlib
except ImportError:
    sys.exit("matplotlib is not installed for this python3: run Scripts/install-bench-python.sh")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

KINDS = ("conv1x1", "conv3x3", "conv_other", "depthwise", "branch", "block", "network")
KIND_LABELS = {"conv1x1": "1x1 conv", "conv3x3": "3x3 conv", "conv_other": "other conv",
               "depthwise": "depthwise", "branch": "branch", "block": "block", "network": "network"}
KIND_COLORS = {"conv1x1": "#1f77b4", "conv3x3": "#ff7f0e", "conv_other": "#2ca02c",
               "depthwise": "#d62728", "branch": "#9467bd", "block": "#8c564b", "network": "#525252"}
THREAD_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
THREAD_HATCHES = ("", "//", "..", "xx", "\\\\", "++")
THREAD_ALPHAS = (1.0, 0.6, 0.4, 0.3, 0.25, 0.2)
DPI = 110


# ---------------------------------------------------------------- formatting

def significant(value, digits=3):
    """value to `digits` significant digits, without exponent for 1e-3 <= |value| < 1e6."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits - 1:
        return f"{round(value):,}".replace(",", "\u202f") if magnitude >= 6 else f"{round(value)}"
    return f"{value:.{max(0, digits - 1 - magnitude)}f}"


def format_time(seconds):
    """Seconds as s, ms, µs or ns with 3 significant digits."""
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale * 0.9995:
            return f"{significant(seconds / scale)} {unit}"
    return f"{significant(seconds / 1e-9)} ns"


def format_ms(milliseconds):
    return "—" if milliseconds is None else format_time(milliseconds * 1e-3)


def format_flops(flops):
    if flops is None:
        return "—"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if flops >= scale:
            return f"{significant(flops / scale)} {unit}"
    return str(flops)


def format_ratio(value, suffix=""):
    return "—" if value is None else f"{significant(value)}{suffix}"


def format_percent(share):
    return "—" if share is None else f"{significant(100 * share)}%"


def format_error(value):
    return "—" if value is None else f"{value:.1e}"


def format_gemm(gemm, calls=None):
    """"784x256x16" -> "784×256×16", with the call count when one shape is called more than once."""
    if not gemm:
        return "—"
    text = re.sub(r"(?<=\d)x(?=\d)", "×", gemm)
    if calls and calls > 1 and re.fullmatch(r"\d+x\d+x\d+", gemm):
        text += f" ({calls} calls)"
    return text


def markdown_table(header, rows, align):
    """align: one of 'l', 'r' per column."""
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- data

def load(path):
    data = json.loads(Path(path).read_text())
    for key in ("machine", "runs"):
        if key not in data:
            sys.exit(f"{path}: no '{key}' key; is this the output of `pointwise bench --json`?")
    data["runs"] = sorted(data["runs"], key=lambda run: run["threads"])
    return data


def row_key(row):
    return (row["name"], row.get("batch", 1))


def ordered_rows(runs, by_kind=True):
    """The distinct (name, batch) rows over all runs, in the order they first appear,
    grouped by kind in KINDS order if by_kind; returns [(key, kind)]."""
    seen = {}
    for run in runs:
        for row in run["rows"]:
            seen.setdefault(row_key(row), row.get("kind", "conv_other"))
    if not by_kind:
        return list(seen.items())
    rank = {kind: n for n, kind in enumerate(KINDS)}
    order = sorted(enumerate(seen.items()), key=lambda item: (rank.get(item[1][1], len(KINDS)), item[0]))
    return [(key, kind) for _, (key, kind) in order]


def row_label(key):
    name, batch = key
    return name if batch == 1 or f"batch {batch}" in name else f"{name}, batch {batch}"


def bar_layout(rows):
    """x positions with a gap between kinds; returns (positions, [(kind, first x, last x)])."""
    positions, groups = [], []
    x = 0.0
    previous = None
    for key, kind in rows:
        if previous is not None and kind != previous:
            x += 0.8
        if kind != previous:
            groups.append([kind, x, x])
        groups[-1][2] = x
        positions.append(x)
        previous = kind
        x += 1.0
    return positions, groups


def annotate_groups(ax, groups, y=1.0):
    """Kind names above each group of bars, and thin separators between groups."""
    for n, (kind, first, last) in enumerate(groups):
        ax.text((first + last) / 2, y, KIND_LABELS.get(kind, kind), transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=9, color=KIND_COLORS.get(kind, "black"),
                fontweight="bold")
        if n:
            ax.axvline(first - 0.9, color="#bbbbbb", linewidth=0.8, zorder=0)


def row_figure_size(rows, runs):
    """Width for the bars and the legend; height for the plot and the rotated labels."""
    longest = max(len(row_label(key)) for key, _ in rows)
    return (max(12, 0.42 * len(rows) * max(1, len(runs) / 2) + 5), 4.3 + 0.066 * longest)


def row_axes(ax, rows, positions, groups):
    ax.set_xticks(positions)
    ax.set_xticklabels([row_label(key) for key, _ in rows], rotation=60, ha="right",
                       rotation_mode="anchor", fontsize=9)
    ax.set_xlim(positions[0] - 0.7, positions[-1] + 0.7)
    ax.grid(axis="y", which="major", color="#dddddd", linewidth=0.8)
    ax.grid(axis="y", which="minor", color="#f0f0f0", linewidth=0.5)
    ax.set_axisbelow(True)
    annotate_groups(ax, groups)


def machine_line(data):
    machine = data["machine"]
    parts = [machine.get("cpu"), f"{machine.get('cores')} cores" if machine.get("cores") else None,
             f"OpenBLAS core {machine['blas_core']}" if machine.get("blas_core") else None,
             machine.get("date", "")[:10] or None]
    return ", ".join(p for p in parts if p)


# ---------------------------------------------------------------- plots

def plot_speedup(data, path):
    runs = data["runs"]
    rows = ordered_rows(runs)
    positions, groups = bar_layout(rows)
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=row_figure_size(rows, runs))
    values_all = []
    for t, run in enumerate(runs):
        by_key = {row_key(row): row for row in run["rows"]}
        for x, (key, kind) in zip(positions, rows):
            row = by_key.get(key)
            offset = (t - (len(runs) - 1) / 2) * width
            speedup = row.get("speedup") if row else None
            if speedup is None and row and row.get("naive_median_s") and row.get("engine_median_s"):
                speedup = row["naive_median_s"] / row["engine_median_s"]
            if speedup is None:
                ax.text(x + offset, 1.0, "n/a", rotation=90, ha="center", va="bottom", fontsize=8,
                        color="#888888")
                continue
            values_all.append(speedup)
            ax.bar(x + offset, speedup, width * 0.95, color=KIND_COLORS.get(kind, "gray"),
                   alpha=THREAD_ALPHAS[t % len(THREAD_ALPHAS)], hatch=THREAD_HATCHES[t % len(THREAD_HATCHES)],
                   edgecolor="white" if t == 0 else KIND_COLORS.get(kind, "gray"), linewidth=0.5)
    ax.set_yscale("log")
    if values_all:
        low = min(1.0, min(values_all)) / 1.5
        ax.set_ylim(low, max(values_all) * 2.2)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("speedup over the naive loop (×, log scale)")
    row_axes(ax, rows, positions, groups)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
    handles = [Patch(facecolor="#777777", alpha=THREAD_ALPHAS[t % len(THREAD_ALPHAS)],
                     hatch=THREAD_HATCHES[t % len(THREAD_HATCHES)], edgecolor="white" if t == 0 else "#777777",
                     label=f"{run['threads']} thread{'s' if run['threads'] != 1 else ''}")
               for t, run in enumerate(runs)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    ax.set_title(f"Engine vs naive loop (median times; n/a: naive not measured)\n{machine_line(data)}",
                 fontsize=10, pad=22)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_gflops(data, path):
    runs = data["runs"]
    rows = ordered_rows(runs)
    positions, groups = bar_layout(rows)
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=row_figure_size(rows, runs))
    top = 0.0
    handles = []
    for t, run in enumerate(runs):
        color = THREAD_COLORS[t % len(THREAD_COLORS)]
        by_key = {row_key(row): row for row in run["rows"]}
        bare_x, bare_y = [], []
        for x, (key, _) in zip(positions, rows):
            row = by_key.get(key)
            if not row:
                continue
            offset = (t - (len(runs) - 1) / 2) * width
            gflops = row.get("gflops")
            if gflops is None and row.get("flops") and row.get("engine_median_s"):
                gflops = row["flops"] / row["engine_median_s"] / 1e9
            if gflops is not None:
                ax.bar(x + offset, gflops, width * 0.95, color=color)
                top = max(top, gflops)
            if row.get("bare_sgemm_median_s") and row.get("flops"):
                bare_x.append(x + offset)
                bare_y.append(row["flops"] / row["bare_sgemm_median_s"] / 1e9)
        threads = run["threads"]
        label = f"{threads} thread{'s' if threads != 1 else ''}"
        handles.append(Patch(color=color, label=f"engine, {label}"))
        if bare_x:
            ax.scatter(bare_x, bare_y, marker="_", s=90, linewidths=2.2, color="black", zorder=3)
            top = max(top, max(bare_y))
        if run.get("peak_gflops"):
            ax.axhline(run["peak_gflops"], color=color, linestyle="--", linewidth=1.3)
            shape = f" ({run['peak_shape']})" if run.get("peak_shape") else ""
            handles.append(Line2D([], [], color=color, linestyle="--",
                                  label=f"SGEMM peak{shape},\n{label}: {significant(run['peak_gflops'])} GFLOP/s"))
            top = max(top, run["peak_gflops"])
    handles.append(Line2D([], [], color="black", marker="_", markersize=10, markeredgewidth=2.2, linestyle="none",
                          label="bare SGEMM on the\nsame GEMM shapes"))
    ax.set_ylim(0, top * 1.12 if top else 1)
    ax.set_ylabel("GFLOP/s (median time)")
    row_axes(ax, rows, positions, groups)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False)
    ax.set_title(f"Achieved GFLOP/s per row\n{machine_line(data)}", fontsize=10, pad=22)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_scaling(data, path):
    runs = [run for run in data["runs"] if run.get("sweep")]
    if not runs:
        return False
    fig, axes = plt.subplots(1, len(runs), figsize=(6.2 * len(runs) + 0.6, 5.6), sharey=True, squeeze=False)
    channel_counts = sorted({point["channels"] for run in runs for point in run["sweep"]})
    cmap = plt.get_cmap("viridis")
    colors = {c: cmap(0.85 * n / max(1, len(channel_counts) - 1)) for n, c in enumerate(channel_counts)}
    all_flops = [p["flops"] for run in runs for p in run["sweep"] if p.get("flops")]
    for ax, run in zip(axes[0], runs):
        for channels in channel_counts:
            points = sorted((p for p in run["sweep"] if p["channels"] == channels), key=lambda p: p["flops"])
            for key, style, marker in (("naive_median_s", "--", "o"), ("engine_median_s", "-", "s")):
                xy = [(p["flops"], p[key]) for p in points if p.get(key)]
                if xy:
                    ax.plot(*zip(*xy), linestyle=style, marker=marker, markersize=4.5, color=colors[channels],
                            linewidth=1.4)
        if run.get("peak_gflops") and all_flops:
            span = [min(all_flops), max(all_flops)]
            ax.plot(span, [f / (run["peak_gflops"] * 1e9) for f in span], color="black", linestyle=":",
                    linewidth=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(which="major", color="#dddddd", linewidth=0.8)
        ax.grid(which="minor", color="#f2f2f2", linewidth=0.5)
        ax.set_xlabel("FLOPs (2 · H · W · Cin · Cout)")
        threads = run["threads"]
        ax.set_title(f"{threads} thread{'s' if threads != 1 else ''}, peak {significant(run.get('peak_gflops'))} GFLOP/s",
                     fontsize=10)
    axes[0][0].set_ylabel("median time (s)")
    handles = [Line2D([], [], color=colors[c], linewidth=3, label=f"{c} channels") for c in channel_counts]
    handles += [Line2D([], [], color="#555555", linestyle="--", marker="o", label="naive loop"),
                Line2D([], [], color="#555555", linestyle="-", marker="s", label="engine (SGEMM)"),
                Line2D([], [], color="black", linestyle=":", label="slope 1: FLOPs / peak")]
    axes[0][0].legend(handles=handles, loc="upper left", fontsize=8.5, framealpha=0.9)
    spatial = sorted({p["spatial"] for run in runs for p in run["sweep"]})
    what = "1x1 convolution, C -> C channels on S×S" if sweep_is_square_1x1(runs) else "sweep"
    fig.suptitle(f"Scaling sweep: {what}, S = {', '.join(map(str, spatial))}"
                 f"\n{machine_line(data)}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return True


# ---------------------------------------------------------------- markdown

def rows_table(run, rows):
    by_key = {row_key(row): row for row in run["rows"]}
    lines, reasons = [], {}  # naive_skipped reason -> rows
    for key, kind in rows:
        row = by_key.get(key)
        if row is None:
            continue
        naive = format_time(row.get("naive_median_s"))
        if row.get("naive_median_s") is None and row.get("naive_skipped"):
            reasons.setdefault(row["naive_skipped"], []).append(row_label(key))
            naive = f"not run ({list(reasons).index(row['naive_skipped']) + 1})"
        reps = f"{row.get('engine_reps') or '—'} / {row.get('naive_reps') or '—'}"
        engine = f"{format_time(row.get('engine_median_s'))} / {format_time(row.get('engine_min_s'))}"
        lines.append([row["name"], KIND_LABELS.get(kind, kind), row.get("batch", 1),
                      format_gemm(row.get("gemm"), row.get("gemm_calls")), format_flops(row.get("flops")),
                      naive, engine, reps, format_ratio(row.get("speedup"), "×"),
                      significant(row.get("gflops")), format_percent(row.get("peak_share")),
                      format_time(row.get("bare_sgemm_median_s")), format_ratio(row.get("engine_over_bare")),
                      format_error(row.get("max_error"))])
    header = ["name", "kind", "batch", "GEMM (M×K×N)", "FLOPs", "naive median", "engine median / min",
              "reps (engine / naive)", "speedup", "GFLOP/s", "% of peak", "bare SGEMM", "engine / bare",
              "max error"]
    table = markdown_table(header, lines, "llrlrrrrrrrrrr")
    notes = "\n".join(f"{n}. {reason} ({'; '.join(labels)})" for n, (reason, labels) in enumerate(reasons.items(), 1))
    return table + ("\n\nNaive loop not run:\n\n" + notes if notes else "")


def sweep_is_square_1x1(runs):
    """True when every sweep point's FLOPs are those of a 1x1 convolution from C to C
    channels on an S×S input (2 · S² · C²), so that its GEMM is S²×C×C."""
    return all(p.get("flops") == 2 * p["spatial"] ** 2 * p["channels"] ** 2
               for run in runs for p in run.get("sweep") or [])


def sweep_table(run, square):
    lines = []
    for p in sorted(run["sweep"], key=lambda p: (p["channels"], p["spatial"])):
        naive, engine, bare = p.get("naive_median_s"), p.get("engine_median_s"), p.get("bare_sgemm_median_s")
        s, c = p["spatial"], p["channels"]
        lines.append([s, c] + ([f"{s * s}×{c}×{c}"] if square else []) + [format_flops(p.get("flops")), format_time(naive),
                      format_time(engine), format_time(bare),
                      format_ratio(naive / engine if naive and engine else None, "×"),
                      significant(p["flops"] / engine / 1e9) if engine and p.get("flops") else "—",
                      format_ratio(engine / bare if engine and bare else None)])
    header = ["spatial", "channels"] + (["GEMM (M×K×N)"] if square else []) + [
        "FLOPs", "naive median", "engine median", "bare SGEMM", "speedup", "GFLOP/s", "engine / bare"]
    return markdown_table(header, lines, "rr" + ("l" if square else "") + "rrrrrrr")


def onnx_section(path):
    data = json.loads(Path(path).read_text())
    rows = data["rows"] if isinstance(data, dict) else data
    meta = data if isinstance(data, dict) else (rows[0] if rows else {})
    out = ["## Against ONNX Runtime", ""]
    facts = [
        ("ONNX Runtime", meta.get("onnxruntime_version")),
        ("Execution", meta.get("ort_settings")),
        ("Model", f"exported from PyTorch {meta['torch_version']} with torch.onnx.export, "
                  f"opset {meta.get('onnx_opset', '?')}, static shape; same seeded weights as Pointwise's"
         if meta.get("torch_version") else None),
        ("Timing", f"ORT: {meta['warmup']} warm-up runs, then {meta['repetitions']} timed runs of "
                   f"session.run; Pointwise: `pointwise run --repetitions {meta['repetitions']}`, its own "
                   "timing line; per network and thread count, ORT then Pointwise, back to back"
         if meta.get("repetitions") else None),
        ("Machine", f"{meta['machine'].get('cpu')}, {meta['machine'].get('cores')} cores"
         if meta.get("machine") else None),
        ("Date", meta.get("date")),
        ("Command", f"`{meta['command']}`" if meta.get("command") else None),
    ]
    out.append(markdown_table(["", ""], [[k, v] for k, v in facts if v], "ll"))
    out.append("")
    lines = []
    for row in rows:
        lines.append([row["network"], row.get("batch", 1), row["threads"],
                      format_ms(row.get("ort_median_ms")), format_ms(row.get("ort_min_ms")),
                      format_ms(row.get("pointwise_median_ms")), format_ms(row.get("pointwise_min_ms")),
                      format_ratio(row.get("pointwise_over_ort")),
                      format_error(row.get("pointwise_vs_ort")), format_error(row.get("pointwise_vs_torch")),
                      format_error(row.get("ort_vs_torch"))])
    header = ["network", "batch", "threads", "ORT median", "ORT min", "Pointwise median", "Pointwise min",
              "Pointwise / ORT (median)", "Pointwise vs ORT", "Pointwise vs PyTorch", "ORT vs PyTorch"]
    out.append(markdown_table(header, lines, "lrrrrrrrrrr"))
    out.append("")
    out.append("Agreement columns: max |a − b| / max |b| over the logits, b the second named.")
    errors = [row for row in rows if row.get("pointwise_error")]
    if errors:
        out.append("")
        out += [f"- Pointwise not measured for {row['network']}, {row['threads']} thread(s): "
                f"{row['pointwise_error']}" for row in errors]
    return "\n".join(out)


def write_markdown(data, out, json_name, onnx, has_scaling, plot_command):
    machine = data["machine"]
    runs = data["runs"]
    rows = ordered_rows(runs, by_kind=False)  # the benchmark's order: a block after its parts
    threads = ", ".join(str(run["threads"]) for run in runs)
    facts = [("CPU", machine.get("cpu")), ("Cores", machine.get("cores")),
             ("BLAS", machine.get("blas_config")), ("BLAS core", machine.get("blas_core")),
             ("Threads", threads), ("Build", machine.get("build")), ("Date", machine.get("date")),
             ("Command", f"`{data['command']}`" if data.get("command") else None)]
    reps = data.get("repetitions") or {}
    if reps:
        names = {"bare_sgemm": "bare SGEMM"}
        order = ["warmup", "engine", "naive", "bare_sgemm"]
        keys = [k for k in order if k in reps] + [k for k in reps if k not in order]
        facts.append(("Repetitions", "; ".join(f"{names.get(k, k.replace('_', ' '))}: {reps[k]}"
                                               for k in keys)))
    parts = [
        "# Performance",
        "",
        f"Generated by `{plot_command}` from `{json_name}`, the output of the command below. "
        "Times are wall-clock; GFLOP/s count 2 FLOPs per multiply-accumulate and use the engine's "
        "median time; % of peak is relative to the measured SGEMM peak for the same thread count.",
        "",
        "## Machine",
        "",
        markdown_table(["", ""], [[k, v] for k, v in facts if v not in (None, "")], "ll"),
        "",
        "Peak (SGEMM): " + "; ".join(
            f"{run['threads']} thread{'s' if run['threads'] != 1 else ''}: {significant(run.get('peak_gflops'))} GFLOP/s"
            + (f" ({run['peak_shape'].replace('x', '×')})" if run.get("peak_shape") else "") for run in runs) + ".",
        "",
        "## Plots",
        "",
        "![Speedup over the naive loop per row](bench-speedup.png)",
        "",
        "![GFLOP/s per row, SGEMM peak and bare-SGEMM ceiling](bench-gflops.png)",
        "",
    ]
    if has_scaling:
        parts += ["![Scaling sweep: time against FLOPs](bench-scaling.png)", ""]
    parts += ["## Rows", "",
              "Engine: median / min time of the whole row (convolution, block or network). Bare SGEMM: "
              "median time of the row's SGEMM calls alone, same shapes; engine / bare is the ratio of "
              "the medians. Reps: timed runs of the engine / of the naive loop. Max error: the "
              "benchmark's `max_error` for the row.", ""]
    for run in runs:
        n = run["threads"]
        parts += [f"### {n} thread{'s' if n != 1 else ''}"
                  + (f" (peak {significant(run.get('peak_gflops'))} GFLOP/s)" if run.get("peak_gflops") else ""),
                  "", rows_table(run, rows), ""]
    if has_scaling:
        square = sweep_is_square_1x1(runs)
        parts += ["## Scaling sweep", ""]
        if square:
            parts += ["A 1x1 convolution from C to C channels on an S×S input (spatial S, channels C), "
                      "batch 1: one S²×C×C GEMM.", ""]
        for run in runs:
            if run.get("sweep"):
                n = run["threads"]
                parts += [f"### {n} thread{'s' if n != 1 else ''}", "", sweep_table(run, square), ""]
    if onnx:
        parts += [onnx_section(onnx), ""]
    (out / "performance.md").write_text("\n".join(parts).rstrip() + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path, help="the output of `pointwise bench --json FILE`")
    parser.add_argument("--out", type=Path, default=Path("docs"), metavar="DIR",
                        help="where to write the PNGs and performance.md (default docs)")
    parser.add_argument("--onnx", type=Path, metavar="FILE",
                        help="the --json output of Scripts/onnxruntime_compare.py")
    args = parser.parse_args()
    data = load(args.json)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_speedup(data, args.out / "bench-speedup.png")
    plot_gflops(data, args.out / "bench-gflops.png")
    has_scaling = plot_scaling(data, args.out / "bench-scaling.png")
    if not has_scaling and (args.out / "bench-scaling.png").exists():
        (args.out / "bench-scaling.png").unlink()  # no sweep in this JSON: no stale plot either
    command = f"python3 Scripts/plot_bench.py {args.json.name} --out {args.out}" + (
        f" --onnx {args.onnx.name}" if args.onnx else "")
    write_markdown(data, args.out, args.json.name, args.onnx, has_scaling, command)
    written = ["bench-speedup.png", "bench-gflops.png"] + (["bench-scaling.png"] if has_scaling else [])
    print(f"wrote {args.out}/{{{','.join(written + ['performance.md'])}}}")


if __name__ == "__main__":
    sys.exit(main())
