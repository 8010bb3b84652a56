#!/usr/bin/env bash
# Makes sure the C libraries Pointwise links are installed: OpenBLAS (CBLAS) and LAPACKE.
# Installs them with apt when running as root on Debian/Ubuntu; otherwise prints the command.
set -euo pipefail

have_libs() {
    if [[ "$(uname)" == Darwin ]]; then
        pkg-config --exists openblas 2>/dev/null
    else
        pkg-config --exists openblas 2>/dev/null && [[ -f /usr/include/lapacke.h ]]
    fi
}

have_libs && exit 0

packages="libopenblas-dev liblapacke-dev pkg-config"
if [[ "$(uname)" == Darwin ]]; then
    echo "Pointwise needs OpenBLAS. Install it with:  brew install openblas pkg-config" >&2
    echo "then: export PKG_CONFIG_PATH=\"\$(brew --prefix openblas)/lib/pkgconfig\"" >&2
    exit 1
elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing $packages ..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
    have_libs || { echo "install finished but openblas/lapacke are still missing" >&2; exit 1; }
else
    echo "Pointwise needs OpenBLAS and LAPACKE. Install them with:" >&2
    echo "    sudo apt-get install -y $packages" >&2
    exit 1
fi
