#!/usr/bin/env bash
# Makes sure the PyTorch reference script (Scripts/torch_reference.py) can run:
# Debian's python3-torch, python3-torchvision and python3-numpy for the system
# interpreter /usr/bin/python3. (PyPI's torch wheels are CUDA builds that do not
# import on the machines this project targets, so the Debian packages are used.)
# Installs them with apt when running as root; otherwise prints the command.
set -euo pipefail

have_torch() {
    /usr/bin/python3 -c 'import numpy, torch, torchvision' >/dev/null 2>&1
}

have_torch && exit 0

packages="python3-torch python3-torchvision python3-numpy"
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing $packages ..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
    have_torch || { echo "install finished but /usr/bin/python3 still cannot import torch" >&2; exit 1; }
else
    echo "The PyTorch reference needs Debian's torch packages. Install them with:" >&2
    echo "    sudo apt-get install -y $packages" >&2
    exit 1
fi
