#!/usr/bin/env bash
# Regenerates Sources/Pointwise/Importers/ONNX/Generated/onnx.pb.swift, the swift-protobuf
# binding of ONNX's `onnx.proto` that the ONNX importer uses.
#
# The generated file is committed, so neither CI nor a normal build ever needs protoc or the
# protoc-gen-swift plugin (whose first build takes ~10 minutes on a 2-core machine). Run this
# script by hand only when bumping the ONNX version or the swift-protobuf version; keep the two
# versions below in step with the swift-protobuf dependency the package declares.
#
# What it does:
#   1. downloads the onnx wheel from PyPI with pip and takes `onnx/onnx.proto` out of it
#      (the proto2 schema without the ONNX-ML extensions, i.e. not onnx-ml.proto);
#   2. installs Debian's `protobuf-compiler` with apt if `protoc` is missing (root only);
#   3. builds `protoc-gen-swift` from a checkout of swift-protobuf at the pinned tag, in a scratch
#      directory outside the repository (never in the repository's .build);
#   4. runs protoc with the plugin and writes the result, with a "generated, do not edit" header.
#
# Usage: Scripts/generate-onnx-proto.sh
# Environment:
#   PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift   use this plugin binary instead of building one
#                                                (it must be version $SWIFT_PROTOBUF_VERSION)
#   PLUGIN_BUILD_DIR=/some/dir                   where swift-protobuf is checked out and built;
#                                                kept between runs so a re-run does not rebuild
#                                                (default: ${TMPDIR:-/tmp}/pointwise-protoc-gen-swift-<version>)
#   SWIFT_BUILD_JOBS=N                           parallel jobs for `swift build` (default 2)
set -euo pipefail

ONNX_VERSION="1.22.0"
SWIFT_PROTOBUF_VERSION="1.39.0"
SWIFT_PROTOBUF_URL="https://github.com/apple/swift-protobuf"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="$repo_root/Sources/Pointwise/Importers/ONNX/Generated"
out_file="$out_dir/onnx.pb.swift"
plugin_build_dir="${PLUGIN_BUILD_DIR:-${TMPDIR:-/tmp}/pointwise-protoc-gen-swift-$SWIFT_PROTOBUF_VERSION}"
jobs="${SWIFT_BUILD_JOBS:-2}"

# Everything except the plugin build goes in a temp dir that is removed on exit.
work="$(mktemp -d "${TMPDIR:-/tmp}/onnx-proto.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log() { echo "==> $*" >&2; }

# --- 1. onnx.proto from the onnx wheel ----------------------------------------------------------
# Any binary wheel of this version carries the same onnx/onnx.proto; --only-binary keeps pip from
# falling back to building the sdist on a Python version without a wheel.
log "Downloading onnx==$ONNX_VERSION wheel from PyPI"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "onnx==$ONNX_VERSION" -d "$work/wheel"
wheel="$(ls "$work"/wheel/onnx-"$ONNX_VERSION"-*.whl | head -n 1)"
mkdir -p "$work/proto"
# A wheel is a zip; use Python's zipfile so `unzip` need not be installed.
python3 - "$wheel" "$work/proto/onnx.proto" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("onnx/onnx.proto"))
PY
grep -q '^syntax = "proto2";' "$work/proto/onnx.proto" \
    || { echo "onnx/onnx.proto in $wheel is not a proto2 file" >&2; exit 1; }
grep -q '^package onnx;' "$work/proto/onnx.proto" \
    || { echo "onnx/onnx.proto in $wheel is not in package onnx" >&2; exit 1; }

# --- 2. protoc -----------------------------------------------------------------------------------
if ! command -v protoc >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "Installing protobuf-compiler with apt"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
    else
        echo "protoc is missing. Install it with:" >&2
        echo "    sudo apt-get install -y protobuf-compiler" >&2
        exit 1
    fi
fi
log "Using $(protoc --version) ($(command -v protoc))"

# --- 3. protoc-gen-swift -------------------------------------------------------------------------
plugin_version_ok() {
    # `protoc-gen-swift --version` prints "protoc-gen-swift 1.39.0".
    [[ -x "$1" ]] && [[ "$("$1" --version 2>/dev/null)" == "protoc-gen-swift $SWIFT_PROTOBUF_VERSION" ]]
}

if [[ -n "${PROTOC_GEN_SWIFT:-}" ]]; then
    plugin="$PROTOC_GEN_SWIFT"
    plugin_version_ok "$plugin" \
        || { echo "$plugin is not protoc-gen-swift $SWIFT_PROTOBUF_VERSION" >&2; exit 1; }
else
    src="$plugin_build_dir/swift-protobuf"
    plugin="$src/.build/release/protoc-gen-swift"
    if ! plugin_version_ok "$plugin"; then
        # Check out exactly the pinned tag (re-clone if a stale checkout is there).
        if [[ "$(git -C "$src" describe --tags --exact-match HEAD 2>/dev/null || true)" \
                != "$SWIFT_PROTOBUF_VERSION" ]]; then
            rm -rf "$src"
            mkdir -p "$plugin_build_dir"
            log "Cloning swift-protobuf $SWIFT_PROTOBUF_VERSION into $src"
            git -c advice.detachedHead=false clone --quiet --depth 1 \
                --branch "$SWIFT_PROTOBUF_VERSION" "$SWIFT_PROTOBUF_URL" "$src" 2>&1 \
                | grep -v 'depth is ignored in local clones' >&2 || true
            [[ -f "$src/Package.swift" ]] || { echo "cloning swift-protobuf failed" >&2; exit 1; }
        fi
        log "Building protoc-gen-swift (release; the first build takes several minutes)"
        start=$SECONDS
        (cd "$src" && swift build -c release -j "$jobs" --product protoc-gen-swift)
        log "protoc-gen-swift built in $((SECONDS - start)) s"
        plugin_version_ok "$plugin" \
            || { echo "built $plugin but it is not version $SWIFT_PROTOBUF_VERSION" >&2; exit 1; }
    fi
fi
log "Using $("$plugin" --version) ($plugin)"

# --- 4. Generate -----------------------------------------------------------------------------------
# Visibility=Internal: the ONNX types are an implementation detail of the importer, not API.
mkdir -p "$work/out"
protoc \
    --proto_path="$work/proto" \
    --plugin=protoc-gen-swift="$plugin" \
    --swift_out="$work/out" \
    --swift_opt=Visibility=Internal \
    onnx.proto

mkdir -p "$out_dir"
{
    echo "// GENERATED FILE: DO NOT EDIT BY HAND."
    echo "//"
    echo "// Generated by Scripts/generate-onnx-proto.sh from onnx $ONNX_VERSION's onnx/onnx.proto"
    echo "// (the proto2 schema without ONNX-ML, taken from the onnx $ONNX_VERSION wheel on PyPI)"
    echo "// with protoc-gen-swift $SWIFT_PROTOBUF_VERSION and $(protoc --version), Visibility=Internal."
    echo "// To change it, edit and re-run that script."
    echo
    cat "$work/out/onnx.pb.swift"
} >"$out_file"

log "Wrote $out_file ($(wc -l <"$out_file") lines)"
