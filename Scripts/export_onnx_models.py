#!/usr/bin/python3
"""Exports the four networks to ONNX with BatchNorm kept as separate nodes, plus a
seeded input, PyTorch's output and ONNX Runtime's output on it.

Usage:
    Scripts/install-torch.sh            # once: Debian's torch for /usr/bin/python3
    Scripts/install-onnx-python.sh      # once: venv .venv-onnx with onnx, onnxruntime, numpy
    /usr/bin/python3 Scripts/export_onnx_models.py [NETWORK ...] [--out DIR]
        [--opset 13] [--batch 2] [--seed 0] [--weights DEFAULT] [--init torchvision|reference]
        [--safetensors] [--ort-python PATH] [--no-ort]

NETWORK: resnet50, googlenet, mobilenet_v2 (torchvision) and mobilenet_v1 (Table 1
of Howard et al. 2017, torchvision has none: the model class of
Scripts/torch_reference.py, whose state_dict names are the ones Pointwise's
Network.mobileNetV1 reads); all four by default. DIR defaults to
<repo>/.onnx-data/models (gitignored).

For each network, DIR/NAME/ gets:
    model.onnx        torch.onnx.export, opset --opset (13), input "input"
                      [batch, 3, 224, 224] and output "output" [batch, 1000] with the
                      batch dimension symbolic ("batch", dynamic_axes), constants folded,
                      BatchNorm NOT fused into the convolutions: exported with
                      training=torch.onnx.TrainingMode.PRESERVE and the model in eval
                      mode. (torch 1.13 fuses Conv+BN only in its "eval peephole" pass,
                      which runs when training is EVAL, the default; with PRESERVE and
                      an eval-mode model it skips that pass but still exports inference
                      BatchNormalization (one output) and drops Dropout.
                      do_constant_folding=False does not help: the peephole pass
                      runs all the same and fuses.)
    input.npy         float32 [batch, 3, 224, 224] NCHW, uniform in [-1, 1) from
                      numpy.random.default_rng(seed) (the same as torch_reference.py's)
    torch_output.npy  PyTorch's logits for it (eval mode, no_grad)
    ort_output.npy    ONNX Runtime's (CPU) logits for it, and
    info.json         versions, weights, node count, BatchNormalization count, the ops
                      used, opset, max|ort - torch| / max|torch| (ort_vs_torch), the
                      same error over max|torch[0] - torch[1]| (the input-dependent part
                      of the logits), and input_dependence = std(torch[0] - torch[1]) /
                      std(torch[0]) (near 0: the logits ignore the input)
    weights.safetensors   with --safetensors: the state_dict (float32, no
                      num_batches_tracked) for `pointwise run NAME --weights`

Weights (--init; random, seeded):
    reference (default): torch_reference.py's weights for the same seed, i.e. the
        network `torch_reference.py --network NAME --seed S` writes as
        weights.safetensors (and the Swift whole-network tests use): torch.manual_seed(seed),
        every BatchNorm2d with running_mean ~ U(-0.1, 0.1), running_var ~ U(0.5, 1.5),
        weight ~ U(0.5, 1.5), bias ~ U(-0.1, 0.1) (the ranges of Pointwise's
        RandomParameters), Kaiming-normal convolutions rescaled layer by layer to
        unit output RMS, Linear N(0, 1/in). The logits depend on the input.
    torchvision: torch.manual_seed(seed), the architecture's own init (torchvision's;
        GoogLeNet with aux_logits=False, transform_input=False, init_weights=True;
        PyTorch's default for mobilenet_v1), then every BatchNorm2d randomised as
        above from a torch.Generator seeded with seed. Beware: for googlenet,
        mobilenet_v2 and mobilenet_v1 the signal dies out through the layers and the
        logits do not depend on the input (input_dependence ~1e-7 in info.json), so
        an ORT-vs-torch comparison on them checks little more than the classifier.
--weights NAME (DEFAULT, IMAGENET1K_V1, ...) loads torchvision's pretrained weights
instead, only if torchvision's cache already holds the file (this machine has no
internet for it): otherwise the script stops and says which file is missing. Not for
mobilenet_v1. GoogLeNet's pretrained weights come with transform_input=True, which
is then part of the exported graph.

ONNX Runtime and the graph statistics need onnx/onnxruntime, which Debian's
interpreter lacks: this script re-runs itself as `--check DIR` under --ort-python
(default <repo>/.venv-onnx/bin/python, made by Scripts/install-onnx-python.sh),
which also checks that batch 1 (the first image alone) gives the same logits as the
first row of the batch-2 run, i.e. that the batch dimension really is symbolic.
--no-ort skips that step (no ort_output.npy, no counts).

Prints one line per network and a table: nodes, BatchNormalization nodes, opset, ops
used, ORT vs PyTorch normalised error. Exit status 1 if a step fails, if a
network's graph has no BatchNormalization node, or if the error exceeds 1e-4.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
NETWORKS = ("resnet50", "googlenet", "mobilenet_v2", "mobilenet_v1")
DEFAULT_OUT = ROOT / ".onnx-data" / "models"
DEFAULT_ORT_PYTHON = ROOT / ".venv-onnx" / "bin" / "python"
IMAGE_SIZE = 224
TOLERANCE = 1e-4


def die(message):
    sys.exit(f"export_onnx_models.py: {message}")


# ---------------------------------------------------------------- export (Debian torch)

def cached_weights(builder_name, weights_name):
    """torchvision's weights enum value, if its file is already in torch's cache."""
    import torch
    import torchvision
    enum = torchvision.models.get_model_weights(builder_name)
    try:
        weights = enum[weights_name] if weights_name != "DEFAULT" else enum.DEFAULT
    except KeyError:
        die(f"{builder_name} has no weights {weights_name!r} (has {', '.join(w.name for w in enum)})")
    cache = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if not cache.exists():
        die(f"--weights {weights_name}: {cache} is not in torch's cache and cannot be downloaded "
            f"here (it would come from {weights.url}); drop --weights to use seeded random weights")
    return weights


def randomise_batchnorm(model, seed):
    """running_mean ±0.1, running_var 0.5…1.5, weight 0.5…1.5, bias ±0.1 from a seeded
    generator, module by module in definition order."""
    import torch
    from torch import nn
    generator = torch.Generator().manual_seed(seed)

    def uniform(tensor, low, high):
        tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)

    count = 0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                uniform(module.running_mean, -0.1, 0.1)
                uniform(module.running_var, 0.5, 1.5)
                uniform(module.weight, 0.5, 1.5)
                uniform(module.bias, -0.1, 0.1)
                count += 1
    return count


def build(network, args):
    """The model in eval mode and a description of its weights."""
    import torch
    import torchvision
    sys.path.insert(0, str(SCRIPTS))
    import torch_reference

    if args.weights:
        if network == "mobilenet_v1":
            die("mobilenet_v1 has no torchvision weights: drop --weights")
        weights = cached_weights(network, args.weights)
        kwargs = {"aux_logits": False} if network == "googlenet" else {}
        model = getattr(torchvision.models, network)(weights=weights, **kwargs)
        return model.eval(), f"torchvision {weights}"
    if args.init == "reference":
        return (torch_reference.initialised_model(network, 1.0, args.seed).eval(),
                f"torch_reference.py seed {args.seed}")

    torch.manual_seed(args.seed)
    if network == "googlenet":
        model = torchvision.models.googlenet(weights=None, aux_logits=False, transform_input=False,
                                             init_weights=True)
    elif network == "mobilenet_v1":
        model = torch_reference.MobileNetV1()
    else:
        model = getattr(torchvision.models, network)(weights=None)
    batchnorms = randomise_batchnorm(model, args.seed)
    return model.eval(), (f"torchvision init, torch.manual_seed({args.seed}); {batchnorms} BatchNorm2d "
                          f"randomised (torch.Generator seed {args.seed})")


def export(network, args):
    import numpy as np
    import torch
    import torchvision

    out = args.out / network
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model, weights = build(network, args)

    inputs = np.random.default_rng(args.seed).uniform(
        -1, 1, (args.batch, 3, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
    with torch.no_grad():
        output = model(torch.from_numpy(inputs)).numpy().astype(np.float32)
    if not np.isfinite(output).all():
        die(f"{network}: PyTorch's output is not finite")

    path = out / "model.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        # torch warns against constant folding with PRESERVE whatever the model's mode; the
        # warning is about models in training mode (folding would mutate trainable
        # parameters), and this model is in eval mode
        warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
        torch.onnx.export(
            model, torch.from_numpy(inputs), str(path),
            opset_version=args.opset,
            input_names=["input"], output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            training=torch.onnx.TrainingMode.PRESERVE,  # model.eval(): keeps BN, no Conv+BN fusion
            do_constant_folding=True,
            export_params=True,
        )
    if model.training:
        die(f"{network}: the model left export in training mode")
    np.save(out / "input.npy", inputs)
    np.save(out / "torch_output.npy", output)
    if args.safetensors:
        sys.path.insert(0, str(SCRIPTS))
        from torch_reference import float32_state, write_safetensors
        write_safetensors(out / "weights.safetensors", float32_state(model),
                          {"format": "pt", "network": network, "weights": weights})
    info = {
        "network": network, "weights": weights, "init": None if args.weights else args.init, "batch": args.batch, "seed": args.seed,
        "opset": args.opset, "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "onnx_bytes": path.stat().st_size,
        "max_abs_torch_output": float(np.abs(output).max()),
        # how much the logits depend on the input: spread of (image 0 - image 1) relative
        # to the spread of the logits over the classes (near 0: the input barely matters)
        "input_dependence": float(np.std(output[0] - output[-1]) / np.std(output[0])) if len(output) > 1 else None,
        "export_seconds": round(time.perf_counter() - started, 2),
    }
    (out / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"{network}: exported {path} ({info['onnx_bytes'] / 2**20:.1f} MiB, {info['parameters']:,} "
          f"parameters; {weights}); max |torch output| {info['max_abs_torch_output']:.4g}, "
          f"input dependence {info['input_dependence'] or 0:.3g}; "
          f"{info['export_seconds']} s", flush=True)
    return out


# ---------------------------------------------------------------- check (venv: onnx + onnxruntime)

def check(directory):
    """Graph statistics and ORT's output for DIR/model.onnx; updates DIR/info.json."""
    import collections
    import numpy as np
    import onnx
    import onnxruntime as ort

    directory = Path(directory)
    model = onnx.load(str(directory / "model.onnx"))
    onnx.checker.check_model(model)
    ops = collections.Counter(node.op_type for node in model.graph.node)
    graph_input = model.graph.input[0].type.tensor_type.shape.dim
    batch_dim = graph_input[0].dim_param or graph_input[0].dim_value

    inputs = np.load(directory / "input.npy")
    expected = np.load(directory / "torch_output.npy")
    session = ort.InferenceSession(str(directory / "model.onnx"), providers=["CPUExecutionProvider"])
    (actual,) = session.run(None, {"input": inputs})
    np.save(directory / "ort_output.npy", actual)
    (single,) = session.run(None, {"input": inputs[:1]})  # symbolic batch: batch 1 must run too
    error = float(np.abs(actual - expected).max() / np.abs(expected).max())
    # the same error relative to the part of the logits that depends on the input
    # (image 0 minus image 1): with random weights and noise images most of each logit
    # is common to all images, and this says how well that small part agrees
    varying = np.abs(expected[0] - expected[-1]).max() if len(expected) > 1 else 0.0
    error_varying = float(np.abs(actual - expected).max() / varying) if varying > 0 else None
    batch1 = float(np.abs(single[0] - actual[0]).max() / np.abs(actual[0]).max())

    info_path = directory / "info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info.update({
        "nodes": len(model.graph.node), "batchnorm_nodes": ops.get("BatchNormalization", 0),
        "ops": dict(sorted(ops.items())), "initializers": len(model.graph.initializer),
        "opset_import": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "ir_version": model.ir_version, "batch_dim": batch_dim,
        "onnxruntime_version": ort.__version__, "onnx_version": onnx.__version__,
        "ort_vs_torch": error, "ort_vs_torch_of_input_dependent_part": error_varying,
        "ort_batch1_vs_batch": batch1,
    })
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("networks", nargs="*", metavar="NETWORK", help=f"any of {', '.join(NETWORKS)} (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", help="torchvision pretrained weights (only if already cached)")
    parser.add_argument("--init", choices=("reference", "torchvision"), default="reference")
    parser.add_argument("--safetensors", action="store_true", help="also write weights.safetensors")
    parser.add_argument("--ort-python", type=Path, default=DEFAULT_ORT_PYTHON)
    parser.add_argument("--no-ort", action="store_true")
    parser.add_argument("--check", type=Path, help=argparse.SUPPRESS)  # internal: run under the venv
    args = parser.parse_args()

    if args.check:
        check(args.check)
        return
    unknown = [n for n in args.networks if n not in NETWORKS]
    if unknown:
        parser.error(f"unknown network {', '.join(unknown)} (choose from {', '.join(NETWORKS)})")
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as error:
        die(f"{error}: run this with /usr/bin/python3 after Scripts/install-torch.sh")
    if not args.no_ort and not args.ort_python.exists():
        die(f"{args.ort_python} not found: run Scripts/install-onnx-python.sh (or pass --ort-python, or --no-ort)")

    rows, failures = [], []
    for network in args.networks or NETWORKS:
        directory = export(network, args)
        if args.no_ort:
            continue
        result = subprocess.run([str(args.ort_python), __file__, "--check", str(directory)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            die(f"{network}: the ONNX Runtime check failed:\n{result.stderr.strip()}")
        info = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(info)
        if info["batchnorm_nodes"] == 0:
            failures.append(f"{network}: no BatchNormalization node (BatchNorm was fused)")
        if info["ort_vs_torch"] > TOLERANCE or info["ort_batch1_vs_batch"] > TOLERANCE:
            failures.append(f"{network}: ORT vs torch {info['ort_vs_torch']:.2e}, "
                            f"batch 1 vs batch {info['ort_batch1_vs_batch']:.2e} (> {TOLERANCE})")

    if rows:
        print(f"\n{'network':13s} {'nodes':>5s} {'BN':>4s} {'opset':>5s} {'batch':>5s} "
              f"{'ORT vs torch':>12s} {'(varying)':>9s} {'b1 vs b2':>9s} {'in.dep.':>8s}  ops")
        for info in rows:
            ops = ", ".join(f"{op} {n}" for op, n in info["ops"].items())
            print(f"{info['network']:13s} {info['nodes']:5d} {info['batchnorm_nodes']:4d} "
                  f"{info['opset_import']['ai.onnx']:5d} {str(info['batch_dim']):>5s} "
                  f"{info['ort_vs_torch']:12.2e} {info['ort_vs_torch_of_input_dependent_part'] or 0:9.2e} "
                  f"{info['ort_batch1_vs_batch']:9.2e} {info['input_dependence'] or 0:8.2g}  {ops}")
        print(f"(ONNX Runtime {rows[0]['onnxruntime_version']}, torch {rows[0]['torch_version']}; "
              "ORT vs torch = max|ort - torch| / max|torch|; (varying): over max|torch[0] - torch[1]|; "
              "b1 vs b2: batch-1 run vs row 0 of the batch-2 run; in.dep.: std(torch[0] - torch[1]) / std(torch[0]))")
    if failures:
        die("\n  ".join(["failed:"] + failures))


if __name__ == "__main__":
    main()
