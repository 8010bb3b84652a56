#!/usr/bin/env bash
# Creates (or updates) the Python virtual environment that the ONNX scripts use:
#     onnx==1.22.0   parses models and TensorProto files (Scripts/onnx_conformance_cases.py)
#     onnxruntime    the reference runtime (latest from PyPI)
#     numpy
# The Swift engine itself never uses Python; this is only for preparing and checking data.
#
# Usage:
#     Scripts/install-onnx-python.sh [VENV]        # default VENV: <repo>/.venv-onnx (gitignored)
#     then: <repo>/.venv-onnx/bin/python Scripts/onnx_conformance_cases.py ...
#
# The base interpreter is the first `python3` on PATH (set PYTHON to pick another one);
# (Debian's /usr/bin/python3 is kept for torch only: Scripts/export_onnx_models.py.)
# Idempotent: an existing venv that already imports the three packages at the right
# onnx version is left alone (pass --upgrade to fetch the newest onnxruntime/numpy).
# Exits nonzero, saying why, if the venv cannot be made or the packages do not import.
set -euo pipefail

ONNX_VERSION=1.22.0
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
upgrade=0
venv=""
for arg in "$@"; do
    case $arg in
        --upgrade) upgrade=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "install-onnx-python.sh: unknown option $arg" >&2; exit 2 ;;
        *) venv=$arg ;;
    esac
done
venv=${venv:-${ONNX_VENV:-$repo/.venv-onnx}}
python=${PYTHON:-python3}

die() { echo "install-onnx-python.sh: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found on PATH (set PYTHON=...)"

# A venv is usable when its interpreter imports all three with the pinned onnx.
venv_ok() {
    [[ -x $venv/bin/python ]] && "$venv/bin/python" - <<EOF >/dev/null 2>&1
import onnx, onnxruntime, numpy
assert onnx.__version__ == "$ONNX_VERSION", onnx.__version__
EOF
}

if venv_ok && ((upgrade == 0)); then
    echo "ONNX venv ready: $venv" >&2
else
    if [[ ! -x $venv/bin/python ]]; then
        echo "Creating venv $venv with $("$python" --version 2>&1) ($(command -v "$python"))" >&2
        "$python" -m venv "$venv" || die "could not create the venv at $venv ($python -m venv failed)"
    fi
    echo "Installing onnx==$ONNX_VERSION onnxruntime numpy into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
        "onnx==$ONNX_VERSION" onnxruntime numpy \
        || die "pip install into $venv failed (is PyPI reachable?)"
    venv_ok || die "installed, but $venv/bin/python still cannot import onnx $ONNX_VERSION, onnxruntime and numpy"
fi

"$venv/bin/python" -c 'import onnx, onnxruntime, numpy, sys
print(f"  python {sys.version.split()[0]}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}")' >&2
