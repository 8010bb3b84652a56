#!/usr/bin/env bash
# Pointwise against ONNX Runtime and OpenVINO on the same ONNX files (Scripts/compare_peers.py
# explains the method): sets everything up on a fresh machine, then measures.
#
#     Scripts/compare-peers.sh [compare_peers.py options]
#     e.g. Scripts/compare-peers.sh --threads 1 2 --batches 1 8 \
#              --json docs/peers.json --markdown docs/performance-peers.md --chart docs/peers.png
#
# Installs: the C libraries, Debian's PyTorch (the exports), the ONNX venv (.venv-onnx) plus
# openvino and matplotlib in it; exports the four networks (Scripts/export_onnx_models.py, if
# .onnx-data/models lacks them); builds pointwise in release.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
Scripts/install-torch.sh
Scripts/install-onnx-python.sh
if ! .venv-onnx/bin/python -c "import openvino, matplotlib" >/dev/null 2>&1; then
    echo "== pip install openvino matplotlib (into .venv-onnx) =="
    .venv-onnx/bin/python -m pip install --quiet openvino matplotlib
fi
for network in resnet50 googlenet mobilenet_v2 mobilenet_v1; do
    if [[ ! -f .onnx-data/models/$network/model.onnx ]]; then
        /usr/bin/python3 Scripts/export_onnx_models.py "$network" --ort-python .venv-onnx/bin/python
    fi
done
swift build -c release --product pointwise
.venv-onnx/bin/python Scripts/compare_peers.py "$@"
