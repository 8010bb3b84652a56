#!/usr/bin/python3
"""PyTorch reference outputs for Pointwise's whole-network and block tests.

Builds one of four ImageNet CNNs in eval mode with deterministic random weights,
runs a seeded input through it (or through one of its blocks, --fixture) and
writes everything the Swift side needs to reproduce and check the result.

Usage:
    Scripts/install-torch.sh          # once: Debian's python3-torch/-torchvision/-numpy
    /usr/bin/python3 Scripts/torch_reference.py --network NAME --out DIR
        [--batch N] [--seed S] [--width-multiplier A] [--onnx]
    /usr/bin/python3 Scripts/torch_reference.py --network NAME --list-params
    /usr/bin/python3 Scripts/torch_reference.py --network NAME --count
    /usr/bin/python3 Scripts/torch_reference.py --fixture FIXTURE --out DIR [--seed S]

NAME is resnet50, googlenet, mobilenet_v1 or mobilenet_v2. --width-multiplier
applies to the MobileNets only (default 1.0).

Files written to DIR:
    weights.safetensors  the state_dict as float32 (num_batches_tracked left out),
                         with __metadata__ {format, network, seed,
                         width_multiplier, bn_eps}; written by the small writer
                         below and verified by reading it back
    input.npy            float32 [batch, 3, 224, 224] NCHW, uniform in [-1, 1)
                         from numpy.random.default_rng(seed); the input for
                         batch N starts with the input for any smaller batch
    output.npy           float32 [batch, 1000], the logits under torch.no_grad()
    info.json            network, batch, seed, width multiplier, BN epsilon,
                         torch/torchvision versions, parameter count, max |output|
                         (and, with --onnx, the ONNX file, opset and export time)
    model.onnx           with --onnx only: the same model (same weights, eval mode)
                         exported with torch.onnx.export, opset 13, static shape
                         [batch, 3, 224, 224], input "input", output "output"
                         (Scripts/onnxruntime_compare.py runs it in ONNX Runtime)

--fixture writes a small test case for one block of a network into
DIR/FIXTURE/ (all of them with --fixture all; Tests/PointwiseTests/Fixtures
holds the committed ones). The network is built at width 1.0 with the weights
described below, as --network does, and the block, in eval mode, runs on its own:
    FIXTURE                  block                                    input
    resnet50_layer1.0        layer1[0], Bottleneck 64->256, downsample [2, 64, 9, 9]
    googlenet_inception3a    inception3a (BN eps 0.001)               [2, 192, 7, 7]
    mobilenet_v1_features.2  features[2], depthwise stride 2, 64->128 [2, 64, 9, 9]
    mobilenet_v2_features.2  features[2], t=6, stride 2, 16->24       [2, 16, 9, 9]
    mobilenet_v2_features.3  features[3], t=6, stride 1, residual     [2, 24, 9, 9]
The files are as above, except: weights.safetensors holds only the block's
state_dict entries, under their full names in the network (layer1.0.conv1.weight),
and its __metadata__ also names the fixture and module; input.npy and
output.npy are the block's NCHW input and output; info.json gives fixture,
network, module, input and output shapes, BN epsilon, seed, versions, max |output|.

--list-params prints every state_dict entry as "name [shape]", one per line.
--count prints the parameter count (sum of p.numel() over model.parameters())
and the multiply-accumulates for one 3x224x224 image, counting only Conv2d
(Hout*Wout*Cout*Cin/groups*KH*KW) and Linear (in*out), with the share of MACs
and of conv/linear weights (no biases, no BN) that sit in 1x1 convolutions.

Weights (all from torch.manual_seed(seed), independent of --batch):
    BatchNorm     running_mean ~ U(-0.1, 0.1), running_var ~ U(0.5, 1.5),
                  weight ~ U(0.5, 1.5), bias ~ U(-0.1, 0.1), so that folding BN
                  into the convolutions is really exercised
    Linear        weight ~ N(0, 1/in), bias ~ U(-0.1, 0.1)
    Conv2d        Kaiming normal (fan_in), then rescaled, layer by layer in one
                  forward pass over a seeded calibration image, so that each
                  convolution's output has unit RMS. Plain Kaiming init makes
                  ResNet-50's residual sums grow to logits ~1e4, and PyTorch's
                  default init shrinks the signal until the logits no longer
                  depend on the input; the rescaling keeps activations O(1) in
                  every network while the output still depends on the input.

Why /usr/bin/python3: PyPI's torch wheels are CUDA builds that do not import on
the target machines, so the reference uses Debian's python3-torch (1.13) and
python3-torchvision (0.14), which are installed for the system interpreter only.
"""

import argparse
import json
import math
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

NETWORKS = ("resnet50", "googlenet", "mobilenet_v1", "mobilenet_v2")
IMAGE_SIZE = 224

# --fixture NAME: (network, module name in it, input shape NCHW)
FIXTURES = {
    "resnet50_layer1.0": ("resnet50", "layer1.0", (2, 64, 9, 9)),
    "googlenet_inception3a": ("googlenet", "inception3a", (2, 192, 7, 7)),
    "mobilenet_v1_features.2": ("mobilenet_v1", "features.2", (2, 64, 9, 9)),
    "mobilenet_v2_features.2": ("mobilenet_v2", "features.2", (2, 16, 9, 9)),
    "mobilenet_v2_features.3": ("mobilenet_v2", "features.3", (2, 24, 9, 9)),
}


def make_divisible(value, divisor=8):
    """Rounds a channel count to the nearest multiple of divisor, never going
    below 90% of value (torchvision's rule for MobileNet width multipliers)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn_relu(in_channels, out_channels, kernel_size, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                  padding=kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels, eps=1e-5),
        nn.ReLU(inplace=True),
    )


class DepthwiseSeparable(nn.Module):
    """Depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.depthwise = conv_bn_relu(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pointwise = conv_bn_relu(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class MobileNetV1(nn.Module):
    """MobileNet v1 as in Table 1 of Howard et al. 2017 (arXiv:1704.04861)."""

    CHANNELS = (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
    STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
    PARAMETERS_AT_WIDTH_1 = 4_231_976

    def __init__(self, width_multiplier=1.0, num_classes=1000):
        super().__init__()
        channels = [make_divisible(c * width_multiplier) for c in (32,) + self.CHANNELS]
        blocks = [conv_bn_relu(3, channels[0], 3, stride=2)]
        blocks += [DepthwiseSeparable(cin, cout, stride)
                   for cin, cout, stride in zip(channels, channels[1:], self.STRIDES)]
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels[-1], num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def build_model(name, width_multiplier):
    """The untrained network in eval mode, weights as torchvision initialises them."""
    if name == "resnet50":
        model = torchvision.models.resnet50(weights=None)
    elif name == "googlenet":
        model = torchvision.models.googlenet(weights=None, aux_logits=False,
                                             init_weights=False, transform_input=False)
    elif name == "mobilenet_v1":
        model = MobileNetV1(width_multiplier)
        if width_multiplier == 1.0 and parameter_count(model) != MobileNetV1.PARAMETERS_AT_WIDTH_1:
            raise RuntimeError(f"MobileNetV1 has {parameter_count(model)} parameters, "
                               f"expected {MobileNetV1.PARAMETERS_AT_WIDTH_1}")
    else:
        model = torchvision.models.mobilenet_v2(weights=None, width_mult=width_multiplier)
    return model.eval()


def initialised_model(name, width_multiplier, seed):
    """build_model with the weights described at the top of this file."""
    torch.manual_seed(seed)
    model = build_model(name, width_multiplier)
    calibration_image = torch.rand(1, 3, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1
    randomise_weights(model, calibration_image)
    return model


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def randomise_weights(model, calibration_image):
    """Draws the weights described at the top of this file from torch's global RNG."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.uniform_(0.5, 1.5)
            module.bias.uniform_(-0.1, 0.1)
        elif isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="linear")
            module.bias.uniform_(-0.1, 0.1)
        elif isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                module.bias.uniform_(-0.1, 0.1)

    def rescale_to_unit_rms(conv, inputs, output):
        scale = 1.0 / output.pow(2).mean().sqrt()
        conv.weight.mul_(scale)
        if conv.bias is not None:
            conv.bias.mul_(scale)
        return output * scale  # what the rescaled conv computes, seen by later layers

    hooks = [m.register_forward_hook(rescale_to_unit_rms)
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    model(calibration_image)
    for hook in hooks:
        hook.remove()


def batchnorm_eps(model):
    (eps,) = {m.eps for m in model.modules() if isinstance(m, nn.BatchNorm2d)}
    return eps


def count_macs(model):
    """Returns (total MACs, MACs in 1x1 convs, conv/linear weights, weights in 1x1 convs)
    for one 3x224x224 image."""
    totals = {"macs": 0, "macs_1x1": 0}

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            _, c_out, h_out, w_out = output.shape
            macs = h_out * w_out * c_out * module.in_channels // module.groups * math.prod(module.kernel_size)
            if module.kernel_size == (1, 1):
                totals["macs_1x1"] += macs
        else:
            macs = module.in_features * module.out_features
        totals["macs"] += macs

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    hooks = [m.register_forward_hook(count) for m in layers]
    with torch.no_grad():
        model(torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE))
    for hook in hooks:
        hook.remove()
    weights = sum(m.weight.numel() for m in layers)
    weights_1x1 = sum(m.weight.numel() for m in layers
                      if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1))
    return totals["macs"], totals["macs_1x1"], weights, weights_1x1


def write_safetensors(path, tensors, metadata):
    """Writes float32 numpy arrays in the safetensors format: an 8-byte little-endian
    header length, a JSON header padded with spaces to a multiple of 8, then the
    raw little-endian C-order data of each tensor, back to back."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Reads a float32 safetensors file, checking that the data section is exactly
    covered by the tensors. Returns (tensors in header order, metadata)."""
    raw = Path(path).read_bytes()
    (header_length,) = struct.unpack_from("<Q", raw)
    header = json.loads(raw[8:8 + header_length])
    data = raw[8 + header_length:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    end = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        if entry["dtype"] != "F32" or begin != end or stop - begin != 4 * math.prod(entry["shape"]):
            raise ValueError(f"{path}: bad entry {name}: {entry}")
        tensors[name] = np.frombuffer(data, dtype="<f4", count=(stop - begin) // 4,
                                      offset=begin).reshape(entry["shape"])
        end = stop
    if end != len(data):
        raise ValueError(f"{path}: {len(data) - end} bytes after the last tensor")
    return {name: tensors[name] for name in header}, metadata


def verify_safetensors(path, expected, expected_metadata):
    """Reads the file back with read_safetensors and, if installed, with the
    safetensors package, and checks names, shapes, bits and metadata."""
    readers = {"own reader": lambda: read_safetensors(path)}
    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:
        pass
    else:
        def official():
            with safe_open(str(path), framework="numpy") as f:
                metadata = f.metadata()
            return load_file(str(path)), metadata
        readers["safetensors package"] = official
    for reader, read in readers.items():
        tensors, metadata = read()
        same = (metadata == expected_metadata and sorted(tensors) == sorted(expected)
                and all(tensors[k].shape == v.shape and np.array_equal(tensors[k], v)
                        for k, v in expected.items()))
        if not same:
            raise RuntimeError(f"{path} read back with the {reader} differs from the state_dict")
    return list(readers)


def check_output(output):
    """Fails unless the output is finite, O(1) and, for each item of the batch,
    not all equal (logits over the classes, feature maps over channels and pixels)."""
    rms = float(np.sqrt(np.mean(np.square(output, dtype=np.float64))))
    spread = float(output.reshape(len(output), -1).std(axis=1).min())
    if not (np.isfinite(output).all() and 1e-2 < rms < 1e2 and spread > 1e-3):
        raise RuntimeError(f"degenerate output: rms {rms:.3g}, min spread within an item {spread:.3g}")


def float32_state(model, prefix=""):
    """The state_dict entries whose names start with prefix, as float32 arrays
    under their full names, num_batches_tracked left out."""
    return {name: value.detach().numpy().astype(np.float32)
            for name, value in model.state_dict().items()
            if name.startswith(prefix) and not name.endswith("num_batches_tracked")}


def write_weights(out, tensors, metadata):
    """Writes out/weights.safetensors and verifies it; returns the readers used."""
    out.mkdir(parents=True, exist_ok=True)
    write_safetensors(out / "weights.safetensors", tensors, metadata)
    return verify_safetensors(out / "weights.safetensors", tensors, metadata)


def run_seeded(model, input_shape, seed):
    """Runs model on float32 input uniform in [-1, 1) from numpy.random.default_rng(seed);
    returns (input, checked output)."""
    inputs = np.random.default_rng(seed).uniform(-1, 1, input_shape).astype(np.float32)
    with torch.no_grad():
        output = model(torch.from_numpy(inputs)).numpy().astype(np.float32)
    check_output(output)
    return inputs, output


def write_results(out, inputs, output, info):
    """Writes input.npy, output.npy and info.json (info plus max |output|); returns the latter."""
    np.save(out / "input.npy", inputs)
    np.save(out / "output.npy", output)
    info = {**info, "max_abs_output": float(np.abs(output).max())}
    (out / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


ONNX_OPSET = 13


def export_onnx(model, path, batch):
    """Exports model (eval mode) to ONNX at path: opset ONNX_OPSET, static input
    shape [batch, 3, 224, 224] named "input", output named "output", constants
    folded. Needs no onnx package: torch 1.13 serialises the graph itself."""
    dummy = torch.zeros(batch, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.no_grad():
        torch.onnx.export(model, dummy, str(path), opset_version=ONNX_OPSET,
                          input_names=["input"], output_names=["output"],
                          do_constant_folding=True, export_params=True)
    return {"onnx_file": Path(path).name, "onnx_opset": ONNX_OPSET}


def write_reference(model, args, eps, started):
    out = Path(args.out)
    tensors = float32_state(model)
    metadata = {"format": "pt", "network": args.network, "seed": str(args.seed),
                "width_multiplier": str(args.width_multiplier), "bn_eps": repr(eps)}
    readers = write_weights(out, tensors, metadata)
    inputs, output = run_seeded(model, (args.batch, 3, IMAGE_SIZE, IMAGE_SIZE), args.seed)
    onnx_info = {}
    if args.onnx:
        exported = time.perf_counter()
        onnx_info = export_onnx(model, out / "model.onnx", args.batch)
        onnx_info["onnx_export_s"] = round(time.perf_counter() - exported, 3)
    info = write_results(out, inputs, output, {
        "network": args.network,
        "batch": args.batch,
        "seed": args.seed,
        "width_multiplier": args.width_multiplier,
        "bn_eps": eps,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "parameter_count": parameter_count(model),
        **onnx_info,
    })
    files = "weights.safetensors,input.npy,output.npy,info.json" + (",model.onnx" if args.onnx else "")
    print(f"{args.network}: wrote {out}/{{{files}}} "
          f"({len(tensors)} tensors, {info['parameter_count']} parameters, "
          f"verified with {' and '.join(readers)}); output {list(output.shape)}, "
          f"max |output| {info['max_abs_output']:.6g}; {time.perf_counter() - started:.2f} s")


def write_fixture(fixture, model, args, started):
    """Writes the block FIXTURES[fixture] of model (the initialised network) to
    args.out/fixture/."""
    network, module_name, input_shape = FIXTURES[fixture]
    block = model.get_submodule(module_name).eval()
    eps = batchnorm_eps(block)
    out = Path(args.out) / fixture
    tensors = float32_state(model, prefix=module_name + ".")
    metadata = {"format": "pt", "network": network, "seed": str(args.seed),
                "width_multiplier": "1.0", "bn_eps": repr(eps),
                "fixture": fixture, "module": module_name}
    readers = write_weights(out, tensors, metadata)
    inputs, output = run_seeded(block, input_shape, args.seed)
    info = write_results(out, inputs, output, {
        "fixture": fixture,
        "network": network,
        "module": module_name,
        "input_shape": list(inputs.shape),
        "output_shape": list(output.shape),
        "bn_eps": eps,
        "seed": args.seed,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
    })
    print(f"{fixture}: wrote {out}/{{weights.safetensors,input.npy,output.npy,info.json}} "
          f"({len(tensors)} tensors, verified with {' and '.join(readers)}); "
          f"{list(inputs.shape)} -> {list(output.shape)}, "
          f"max |output| {info['max_abs_output']:.6g}; {time.perf_counter() - started:.2f} s")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    subject = parser.add_mutually_exclusive_group(required=True)
    subject.add_argument("--network", choices=NETWORKS)
    subject.add_argument("--fixture", choices=("all",) + tuple(FIXTURES),
                         help="write one block's test fixture (or all) to DIR/FIXTURE/")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", metavar="DIR", help="write the reference files to DIR")
    action.add_argument("--list-params", action="store_true",
                        help="print each state_dict name and shape")
    action.add_argument("--count", action="store_true",
                        help="print parameter and multiply-accumulate counts")
    parser.add_argument("--batch", type=int, metavar="N",
                        help="images in input.npy and output.npy (default 1)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed for the weights and the input (default 0)")
    parser.add_argument("--width-multiplier", type=float, metavar="A",
                        help="channel multiplier, MobileNets only (default 1.0)")
    parser.add_argument("--transform-input", action="store_true",
                        help="GoogLeNet only: torchvision's transform_input=True, as with its ImageNet weights")
    parser.add_argument("--onnx", action="store_true",
                        help=f"also export the model to DIR/model.onnx (opset {ONNX_OPSET}, static shape)")
    args = parser.parse_args()
    if args.transform_input and args.network != "googlenet":
        parser.error("--transform-input is only for googlenet")
    if args.fixture:
        if not args.out or args.batch is not None or args.width_multiplier is not None or args.onnx:
            parser.error("--fixture takes --out and --seed only")
        return args
    if args.onnx and not args.out:
        parser.error("--onnx needs --out")
    args.batch = 1 if args.batch is None else args.batch
    args.width_multiplier = 1.0 if args.width_multiplier is None else args.width_multiplier
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.width_multiplier <= 0 or (args.width_multiplier != 1.0
                                      and not args.network.startswith("mobilenet")):
        parser.error("--width-multiplier must be positive and is only for the MobileNets")
    return args


def main():
    started = time.perf_counter()
    args = parse_args()

    if args.fixture:
        fixtures = list(FIXTURES) if args.fixture == "all" else [args.fixture]
        models = {}  # each network built once, however many of its blocks are written
        for fixture in fixtures:
            network = FIXTURES[fixture][0]
            if network not in models:
                models[network] = initialised_model(network, 1.0, args.seed)
            write_fixture(fixture, models[network], args, started)
    elif args.list_params:
        for name, value in build_model(args.network, args.width_multiplier).state_dict().items():
            print(name, list(value.shape))
    elif args.count:
        model = build_model(args.network, args.width_multiplier)
        macs, macs_1x1, weights, weights_1x1 = count_macs(model)
        print(f"network              {args.network} (width multiplier {args.width_multiplier})")
        print(f"parameters           {parameter_count(model)}")
        print(f"MACs (1x3x224x224)   {macs}")
        print(f"  in 1x1 convs       {macs_1x1} ({100 * macs_1x1 / macs:.2f}%)")
        print(f"conv/linear weights  {weights}")
        print(f"  in 1x1 convs       {weights_1x1} ({100 * weights_1x1 / weights:.2f}%)")
    else:
        model = initialised_model(args.network, args.width_multiplier, args.seed)
        model.transform_input = args.transform_input  # googlenet only (checked in parse_args)
        write_reference(model, args, batchnorm_eps(model), started)


if __name__ == "__main__":
    sys.exit(main())
