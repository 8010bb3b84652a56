#!/usr/bin/python3
"""PyTorch reference outputs for Pointwise's whole-network tests.

Builds one of four ImageNet CNNs in eval mode with deterministic random weights,
runs a seeded input through it and writes everything the Swift side needs to
reproduce and check the result.

Usage:
    Scripts/install-torch.sh          # once: Debian's python3-torch/-torchvision/-numpy
    /usr/bin/python3 Scripts/torch_reference.py --network NAME --out DIR
        [--batch N] [--seed S] [--width-multiplier A]
    /usr/bin/python3 Scripts/torch_reference.py --network NAME --list-params
    /usr/bin/python3 Scripts/torch_reference.py --network NAME --count

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
    """Fails unless the logits are finite, O(1) and not all equal."""
    rms = float(np.sqrt(np.mean(np.square(output, dtype=np.float64))))
    spread = float(output.std(axis=1).min())
    if not (np.isfinite(output).all() and 1e-2 < rms < 1e2 and spread > 1e-3):
        raise RuntimeError(f"degenerate logits: rms {rms:.3g}, min spread over classes {spread:.3g}")


def write_reference(model, args, eps, started):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tensors = {name: value.detach().numpy().astype(np.float32)
               for name, value in model.state_dict().items()
               if not name.endswith("num_batches_tracked")}
    metadata = {"format": "pt", "network": args.network, "seed": str(args.seed),
                "width_multiplier": str(args.width_multiplier), "bn_eps": repr(eps)}
    write_safetensors(out / "weights.safetensors", tensors, metadata)
    readers = verify_safetensors(out / "weights.safetensors", tensors, metadata)

    image_shape = (args.batch, 3, IMAGE_SIZE, IMAGE_SIZE)
    inputs = np.random.default_rng(args.seed).uniform(-1, 1, image_shape).astype(np.float32)
    with torch.no_grad():
        output = model(torch.from_numpy(inputs)).numpy().astype(np.float32)
    check_output(output)
    np.save(out / "input.npy", inputs)
    np.save(out / "output.npy", output)

    info = {
        "network": args.network,
        "batch": args.batch,
        "seed": args.seed,
        "width_multiplier": args.width_multiplier,
        "bn_eps": eps,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "parameter_count": parameter_count(model),
        "max_abs_output": float(np.abs(output).max()),
    }
    (out / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"{args.network}: wrote {out}/{{weights.safetensors,input.npy,output.npy,info.json}} "
          f"({len(tensors)} tensors, {info['parameter_count']} parameters, "
          f"verified with {' and '.join(readers)}); output {list(output.shape)}, "
          f"max |output| {info['max_abs_output']:.6g}; {time.perf_counter() - started:.2f} s")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", required=True, choices=NETWORKS)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", metavar="DIR", help="write the reference files to DIR")
    action.add_argument("--list-params", action="store_true",
                        help="print each state_dict name and shape")
    action.add_argument("--count", action="store_true",
                        help="print parameter and multiply-accumulate counts")
    parser.add_argument("--batch", type=int, default=1, metavar="N",
                        help="images in input.npy and output.npy (default 1)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed for the weights and the input (default 0)")
    parser.add_argument("--width-multiplier", type=float, default=1.0, metavar="A",
                        help="channel multiplier, MobileNets only (default 1.0)")
    args = parser.parse_args()
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.width_multiplier <= 0 or (args.width_multiplier != 1.0
                                      and not args.network.startswith("mobilenet")):
        parser.error("--width-multiplier must be positive and is only for the MobileNets")
    return args


def main():
    started = time.perf_counter()
    args = parse_args()
    torch.manual_seed(args.seed)
    model = build_model(args.network, args.width_multiplier)

    if args.list_params:
        for name, value in model.state_dict().items():
            print(name, list(value.shape))
    elif args.count:
        macs, macs_1x1, weights, weights_1x1 = count_macs(model)
        print(f"network              {args.network} (width multiplier {args.width_multiplier})")
        print(f"parameters           {parameter_count(model)}")
        print(f"MACs (1x3x224x224)   {macs}")
        print(f"  in 1x1 convs       {macs_1x1} ({100 * macs_1x1 / macs:.2f}%)")
        print(f"conv/linear weights  {weights}")
        print(f"  in 1x1 convs       {weights_1x1} ({100 * weights_1x1 / weights:.2f}%)")
    else:
        calibration_image = torch.rand(1, 3, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1
        randomise_weights(model, calibration_image)
        write_reference(model, args, batchnorm_eps(model), started)


if __name__ == "__main__":
    sys.exit(main())
