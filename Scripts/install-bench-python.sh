#!/usr/bin/env bash
# Makes sure `python3` (the first python3 on PATH, not Debian's /usr/bin/python3)
# can run Scripts/plot_bench.py and Scripts/onnxruntime_compare.py: it needs
# numpy, matplotlib and onnxruntime. Installs whichever is missing with
# `python3 -m pip install`, says what it does, and exits nonzero if the install
# fails or the modules still do not import afterwards.
# Set PYTHON to use another interpreter (PYTHON=python3.11 Scripts/install-bench-python.sh).
set -euo pipefail

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "$python: not found" >&2; exit 1; }
echo "Python: $(command -v "$python") ($("$python" --version 2>&1))" >&2

missing=()
for module_package in numpy:numpy matplotlib:matplotlib onnxruntime:onnxruntime; do
    module=${module_package%%:*}
    package=${module_package##*:}
    if "$python" -c "import $module" >/dev/null 2>&1; then
        echo "  $module: $("$python" -c "import $module; print($module.__version__)") already installed" >&2
    else
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "Installing ${missing[*]}: $python -m pip install ${missing[*]}" >&2
"$python" -m pip install --quiet "${missing[@]}" || {
    echo "pip install ${missing[*]} failed" >&2
    exit 1
}

for package in "${missing[@]}"; do
    version=$("$python" -c "import $package; print($package.__version__)" 2>/dev/null) || {
        echo "pip install finished but $python still cannot import $package" >&2
        exit 1
    }
    echo "  $package: $version installed" >&2
done
