#!/usr/bin/python3
"""Exports a torchvision network's weights to safetensors for `pointwise run`.

Usage:
    Scripts/install-torch.sh      # Debian's python3-torch and python3-torchvision
    /usr/bin/python3 Scripts/export_torchvision.py NETWORK --weights DEFAULT --out DIR
    /usr/bin/python3 Scripts/export_torchvision.py NETWORK --state-dict model.pth --out DIR

NETWORK is resnet50, googlenet or mobilenet_v2 (torchvision), or mobilenet_v1 (the
hand-written model in torch_reference.py, from --state-dict only).
--weights names a torchvision weights enum value (DEFAULT, IMAGENET1K_V1, ...), which
torchvision downloads once into its cache; --state-dict reads a saved state_dict.

Writes to DIR: weights.safetensors (the state_dict, float32, without
num_batches_tracked), input.npy (a seeded float32 [BATCH, 3, 224, 224] NCHW batch,
uniform in [-1, 1)) and torch_output.npy (PyTorch's logits for it, eval mode), then
prints the `pointwise run` command that reproduces them and how to compare.
GoogLeNet's ImageNet weights come with transform_input=True: the printed command
then carries --transform-input.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_reference import MobileNetV1, float32_state, write_safetensors  # noqa: E402


def load_model(network, weights, state_dict):
    if network == "mobilenet_v1":
        if state_dict is None:
            sys.exit("mobilenet_v1 is not in torchvision: pass --state-dict")
        model = MobileNetV1()
    else:
        builder = getattr(torchvision.models, network)
        kwargs = {"weights": weights} if weights else {"weights": None}
        if network == "googlenet" and not weights:
            kwargs.update(aux_logits=False, init_weights=True)
        model = builder(**kwargs)
    if state_dict is not None:
        model.load_state_dict(torch.load(state_dict, map_location="cpu"), strict=False)
    if network == "googlenet":
        model.aux_logits = False
        model.aux1 = model.aux2 = None  # auxiliary heads: training only, not exported
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("network", choices=("resnet50", "googlenet", "mobilenet_v1", "mobilenet_v2"))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--weights", help="torchvision weights name, e.g. DEFAULT")
    source.add_argument("--state-dict", type=Path, help="a saved state_dict (.pth)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model = load_model(args.network, args.weights, args.state_dict)
    tensors = {name: value for name, value in float32_state(model).items()
               if not name.startswith(("aux1.", "aux2."))}
    args.out.mkdir(parents=True, exist_ok=True)
    write_safetensors(args.out / "weights.safetensors", tensors,
                      {"format": "pt", "network": args.network, "source": args.weights or str(args.state_dict)})

    inputs = np.random.default_rng(args.seed).uniform(-1, 1, (args.batch, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        output = model(torch.from_numpy(inputs)).numpy().astype(np.float32)
    np.save(args.out / "input.npy", inputs)
    np.save(args.out / "torch_output.npy", output)

    transform = " --transform-input" if getattr(model, "transform_input", False) else ""
    print(f"wrote {len(tensors)} tensors, input {inputs.shape} and PyTorch's output {output.shape} to {args.out}")
    print("run them with Pointwise:")
    print(f"    swift run -c release pointwise run {args.network} --weights {args.out}/weights.safetensors "
          f"--input {args.out}/input.npy --output {args.out}/pointwise_output.npy{transform}")
    print("compare:")
    print(f"    python3 -c \"import numpy as n; a=n.load('{args.out}/pointwise_output.npy'); "
          f"b=n.load('{args.out}/torch_output.npy'); print(abs(a-b).max()/abs(b).max())\"")


if __name__ == "__main__":
    main()
