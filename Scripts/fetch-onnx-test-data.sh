#!/usr/bin/env bash
# Fetches ONNX's own backend conformance test data from the onnx wheel on PyPI.
#
# Usage:
#     Scripts/fetch-onnx-test-data.sh [DEST]       # default DEST: <repo>/.onnx-data (gitignored)
#
# The onnx wheel ships its backend test suite as data files under
# onnx/backend/test/data/. This script downloads onnx==1.22.0 with
#     python3 -m pip download onnx==1.22.0 --no-deps
# (only the wheel: nothing is installed) and extracts these folders of it:
#     node/ pytorch-converted/ pytorch-operator/ simple/    one folder per case:
#         CASE/model.onnx
#         CASE/test_data_set_N/input_K.pb, output_K.pb   (serialized TensorProto)
#     light/   flat files light_NAME.onnx + light_NAME_output_0.pb (no input files:
#              the input is the model's own; weights are replaced by tiny stand-ins)
# into DEST/backend/<folder>/..., and writes DEST/.complete-onnx-1.22.0 when done.
#
# Idempotent: if that marker exists, nothing is downloaded or extracted. The wheel is
# kept in DEST/wheel/ so that an interrupted extraction does not download it again.
# Extraction goes to a temporary folder that is renamed into place only when complete.
# Fails loudly (nonzero exit, message on stderr) if pip, the download, or any
# expected folder is missing. Set PYTHON to use another interpreter than python3.
set -euo pipefail

ONNX_VERSION=1.22.0
FOLDERS=(node pytorch-converted pytorch-operator simple light)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${1:-} in -h|--help) sed -n '2,22p' "$0"; exit 0 ;; esac
dest=${1:-$repo/.onnx-data}
python=${PYTHON:-python3}
marker=$dest/.complete-onnx-$ONNX_VERSION

die() { echo "fetch-onnx-test-data.sh: $*" >&2; exit 1; }

if [[ -f $marker ]]; then
    echo "ONNX $ONNX_VERSION backend test data already in $dest/backend (marker $marker)" >&2
    exit 0
fi

command -v "$python" >/dev/null || die "$python not found on PATH (set PYTHON=...)"
"$python" -m pip --version >/dev/null 2>&1 || die "$python has no pip ($python -m pip failed)"

mkdir -p "$dest/wheel"
shopt -s nullglob
wheels=("$dest/wheel"/onnx-"$ONNX_VERSION"-*.whl)
if ((${#wheels[@]} == 0)); then
    echo "Downloading onnx==$ONNX_VERSION wheel into $dest/wheel" >&2
    "$python" -m pip download --quiet --disable-pip-version-check "onnx==$ONNX_VERSION" --no-deps \
        -d "$dest/wheel" || die "pip download onnx==$ONNX_VERSION failed"
    wheels=("$dest/wheel"/onnx-"$ONNX_VERSION"-*.whl)
    ((${#wheels[@]} > 0)) || die "pip download succeeded but left no onnx-$ONNX_VERSION-*.whl in $dest/wheel"
else
    echo "Using cached wheel ${wheels[0]}" >&2
fi
wheel=${wheels[0]}

# Extract with Python's zipfile (no dependence on `unzip`) into a temporary folder.
staging=$dest/backend.partial
rm -rf "$staging"
"$python" - "$wheel" "$staging" "${FOLDERS[@]}" <<'EOF' || die "extracting $wheel failed"
import sys, zipfile, pathlib
wheel, staging, folders = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
prefix = "onnx/backend/test/data/"
counts = dict.fromkeys(folders, 0)
with zipfile.ZipFile(wheel) as archive:
    for info in archive.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        relative = info.filename[len(prefix):]
        top = relative.split("/", 1)[0]
        if top not in counts:
            continue
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source, open(target, "wb") as sink:
            sink.write(source.read())
        counts[top] += 1
missing = [name for name, count in counts.items() if count == 0]
if missing:
    sys.exit(f"the wheel has no files under {prefix}{{{','.join(missing)}}}")
for name, count in counts.items():
    print(f"  {name}: {count} files", file=sys.stderr)
EOF

rm -rf "$dest/backend"
mv "$staging" "$dest/backend"
{
    echo "onnx $ONNX_VERSION backend test data from $(basename "$wheel")"
    for folder in "${FOLDERS[@]}"; do
        echo "$folder $(find "$dest/backend/$folder" -type f | wc -l) files $(du -sb "$dest/backend/$folder" | cut -f1) bytes"
    done
} >"$marker"
echo "Extracted to $dest/backend ($(du -sh "$dest/backend" | cut -f1)); marker $marker" >&2
cat "$marker" >&2
