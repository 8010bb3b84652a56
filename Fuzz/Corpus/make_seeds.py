#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz harnesses (Fuzz/Corpus/<Harness>/).

Run from the repository root with the ONNX test environment (Scripts/install-onnx-python.sh,
Scripts/fetch-onnx-test-data.sh):  .venv-onnx/bin/python Fuzz/Corpus/make_seeds.py

- FuzzNumpy: numpy.save of each dtype the reader knows (and a few it refuses), versions 1.0-3.0.
- FuzzSafeTensors: files in the format's layout, each dtype, metadata, 0-d and empty tensors.
- FuzzONNX: a few of ONNX's backend node tests (one per operator family) and small models made
  here with what the importer handles specially: initializers, a symbolic batch, a Shape-computed
  Reshape, 1-D Conv/pooling, legacy opsets (attributes later opsets take as inputs), Constant forms.
- FuzzGraph: byte strings for GraphDecoder (Fuzz/Sources/FuzzGraph); they are found by libFuzzer
  quickly anyway, these only give it a start.
"""
import io
import json
import os
import shutil
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.join(os.path.dirname(os.path.dirname(ROOT)), ".onnx-data", "backend", "node")


def folder(name):
    path = os.path.join(ROOT, name)
    os.makedirs(path, exist_ok=True)
    return path


def numpy_seeds():
    out = folder("FuzzNumpy")
    arrays = {
        "f4_2x3": np.arange(6, dtype="<f4").reshape(2, 3) / 7,
        "f4_nchw": np.linspace(-1, 1, 2 * 3 * 2 * 2, dtype="<f4").reshape(2, 3, 2, 2),
        "f2_5": np.array([1, -2, 65504, 2 ** -24, np.inf], dtype="<f2"),
        "f8_scalar": np.array(3.25, dtype="<f8"),
        "i8_4": np.array([0, -1, 2 ** 40, -(2 ** 62)], dtype="<i8"),
        "i4_2x2": np.array([[1, -2], [3, 2 ** 31 - 1]], dtype="<i4"),
        "f4_empty": np.zeros((0, 3), dtype="<f4"),
        "u1_refused": np.arange(4, dtype="u1"),
    }
    for name, array in arrays.items():
        np.save(os.path.join(out, name + ".npy"), array)
    # Format versions 2.0 and 3.0 (4-byte header length).
    for version in [(2, 0), (3, 0)]:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, arrays["f4_2x3"], version=version)
        with open(os.path.join(out, "f4_v%d.npy" % version[0]), "wb") as f:
            f.write(buffer.getvalue())
    # Fortran order (refused).
    np.save(os.path.join(out, "fortran_refused.npy"), np.asfortranarray(np.ones((2, 3), dtype="<f4")))


def safetensors_file(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, data, offset = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    out = folder("FuzzSafeTensors")
    f32 = np.arange(6, dtype="<f4").tobytes()
    files = {
        "f32_pair": [("conv.weight", "F32", (2, 3, 1, 1), f32), ("conv.bias", "F32", (2,), np.ones(2, "<f4").tobytes())],
        "f16_bf16": [("h", "F16", (5,), np.array([1, -2, 65504, 2 ** -24, np.inf], "<f2").tobytes()),
                     ("b", "BF16", (3,), struct.pack("<3H", 0x3F80, 0xC000, 0x4049))],
        "f64_scalar": [("s", "F64", (), struct.pack("<d", -0.5))],
        "integers": [("n", "I64", (3,), np.arange(3, dtype="<i8").tobytes()), ("m", "U8", (2, 2), bytes([1, 2, 3, 4]))],
        "empty": [("e", "F32", (0, 4), b""), ("x", "F32", (1,), struct.pack("<f", 2.0))],
    }
    for name, tensors in files.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(safetensors_file(tensors, {"format": "pt"} if name == "f32_pair" else None))


BACKEND_CASES = [
    "test_basic_conv_with_padding", "test_conv_with_strides_padding", "test_batchnorm_example",
    "test_maxpool_2d_pads", "test_averagepool_2d_ceil", "test_globalaveragepool", "test_lrn",
    "test_gemm_default_matrix_bias", "test_matmul_4d", "test_softmax_axis_1", "test_concat_2d_axis_1",
    "test_reshape_negative_dim", "test_transpose_default", "test_unsqueeze_axis_0", "test_squeeze",
    "test_constant_pad", "test_clip_example", "test_sum_two_inputs", "test_add_bcast", "test_hardswish",
    "test_flatten_axis1", "test_dropout_default_old",
]


def model(nodes, inputs, outputs, initializers=(), opset=13, name="seed"):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def onnx_seeds():
    out = folder("FuzzONNX")
    for case in BACKEND_CASES:
        source = os.path.join(BACKEND, case, "model.onnx")
        if os.path.exists(source):
            shutil.copy(source, os.path.join(out, case[len("test_"):] + ".onnx"))
    f = TensorProto.FLOAT
    rng = np.random.default_rng(0)

    def init(name, shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    # A small network with weights, a symbolic batch and every fusion the passes make.
    x = helper.make_tensor_value_info("x", f, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", f, ["N", 4])
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"]),
        helper.make_node("Relu", ["n"], ["r"]),
        helper.make_node("Conv", ["r", "dw"], ["d"], pads=[1, 1, 1, 1], group=4),
        helper.make_node("Add", ["d", "r"], ["a"]),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["fl"]),
        helper.make_node("Gemm", ["fl", "fw", "fb"], ["y"], transB=1),
    ]
    inits = [init("w", (4, 3, 3, 3)), init("b", (4,)), init("s", (4,)), init("bb", (4,)), init("m", (4,)),
             numpy_helper.from_array(np.ones(4, np.float32), "v"), init("dw", (4, 1, 3, 3)),
             init("fw", (4, 16)), init("fb", (4,))]
    onnx.save(model(nodes, [x], [y], inits), os.path.join(out, "small_network.onnx"))

    # Reshape to a shape computed from Shape → Gather → Concat (constant-folded at plan time).
    x = helper.make_tensor_value_info("x", f, ["N", 2, 3, 4])
    y = helper.make_tensor_value_info("y", f, None)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Constant", [], ["i"], value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Gather", ["s", "i"], ["n"], axis=0),
        helper.make_node("Constant", [], ["minus1"], value_ints=[-1]),
        helper.make_node("Concat", ["n", "minus1"], ["t"], axis=0),
        helper.make_node("Reshape", ["x", "t"], ["r"]),
        helper.make_node("Softmax", ["r"], ["y"], axis=-1),
    ]
    onnx.save(model(nodes, [x], [y]), os.path.join(out, "shape_reshape.onnx"))

    # 1-D convolution and pooling (run as 2-D), Slice and Pad with inputs, ConstantOfShape, Cast.
    x = helper.make_tensor_value_info("x", f, [1, 2, 9])
    y = helper.make_tensor_value_info("y", f, None)
    z = helper.make_tensor_value_info("z", f, None)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1]),
        helper.make_node("AveragePool", ["c"], ["p"], kernel_shape=[3], strides=[2], ceil_mode=1),
        helper.make_node("Slice", ["p", "starts", "ends", "axes", "steps"], ["sl"]),
        helper.make_node("Pad", ["sl", "pads"], ["y"], mode="reflect"),
        helper.make_node("ConstantOfShape", ["cs"], ["k"], value=numpy_helper.from_array(np.array([1.5], np.float32))),
        helper.make_node("Cast", ["k"], ["ki"], to=TensorProto.INT64),
        helper.make_node("Cast", ["ki"], ["z"], to=TensorProto.FLOAT),
    ]
    inits = [init("w", (3, 2, 3)), numpy_helper.from_array(np.array([0], np.int64), "starts"),
             numpy_helper.from_array(np.array([-1], np.int64), "ends"), numpy_helper.from_array(np.array([2], np.int64), "axes"),
             numpy_helper.from_array(np.array([1], np.int64), "steps"),
             numpy_helper.from_array(np.array([0, 0, 1, 0, 0, 1], np.int64), "pads"),
             numpy_helper.from_array(np.array([2, 3], np.int64), "cs")]
    onnx.save(model(nodes, [x], [y, z], inits), os.path.join(out, "conv1d_slice_pad.onnx"))

    # Legacy opsets: Add with broadcast/axis (opset 6), Pad and Slice attributes, Reshape's shape attribute (opset 1).
    x = helper.make_tensor_value_info("x", f, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", f, None)
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["a"], broadcast=1, axis=1),
        helper.make_node("Pad", ["a"], ["p"], pads=[0, 0, 1, 1, 0, 0, 1, 1], mode="constant", value=0.5),
        helper.make_node("Slice", ["p"], ["s"], starts=[1], ends=[5], axes=[2]),
        helper.make_node("Flatten", ["s"], ["r"]),
        helper.make_node("Dropout", ["r"], ["y"], is_test=1),
    ]
    onnx.save(model(nodes, [x], [y], [init("bias", (3,))], opset=6), os.path.join(out, "legacy_opset6.onnx"))
    nodes = [helper.make_node("Reshape", ["x"], ["y"], shape=[3, -1], consumed_inputs=[0])]
    onnx.save(model(nodes, [x], [y], opset=1), os.path.join(out, "legacy_opset1.onnx"))

    # Constant in each of its forms, an int64 graph input (the pads: the harness gives zeros),
    # Squeeze/Unsqueeze with axes inputs.
    x = helper.make_tensor_value_info("x", f, [2, 1, 3])
    pads = helper.make_tensor_value_info("pads", TensorProto.INT64, [4])
    y = helper.make_tensor_value_info("y", f, None)
    y2 = helper.make_tensor_value_info("y2", f, None)
    nodes = [
        helper.make_node("Constant", [], ["cf"], value_float=2.0),
        helper.make_node("Constant", [], ["cfs"], value_floats=[1.0, 2.0, 3.0]),
        helper.make_node("Constant", [], ["ax"], value_ints=[1]),
        helper.make_node("Squeeze", ["x", "ax"], ["sq"]),
        helper.make_node("Mul", ["sq", "cf"], ["m"]),
        helper.make_node("Sub", ["m", "cfs"], ["d"]),
        helper.make_node("Div", ["d", "cf"], ["q"]),
        helper.make_node("Unsqueeze", ["q", "ax"], ["u"]),
        helper.make_node("Constant", [], ["rank"], value_int=2),
        helper.make_node("Reshape", ["u", "rank"], ["r"]),
        helper.make_node("Pad", ["r", "pads"], ["y"]),
        helper.make_node("Clip", ["q", "", "cf"], ["y2"]),
    ]
    onnx.save(model(nodes, [x, pads], [y, y2]), os.path.join(out, "constants_int64_input.onnx"))


def graph_seeds():
    out = folder("FuzzGraph")
    # See GraphDecoder.decode: input count, rank, dims, (layout), int64 input?, node count, then nodes.
    seeds = {
        # One rank-4 input [1, 2, 3, 3], a 3x3 conv (weights made from the bytes), relu, output.
        "conv": [0, 0, 1, 2, 3, 3, 1, 4, 1, 0, 0, 1, 3, 3, 1, 1, 0, 0, 0, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 5, 0, 0, 1],
        # Pooling, concat and softmax.
        "pool_concat": [0, 0, 1, 2, 4, 4, 1, 3, 9, 0, 0, 2, 2, 2, 2, 2, 1, 1, 2, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        12, 0, 1, 0, 1, 0, 20, 0, 0, 1, 0, 0],
        # Reshape by a constant, a Gemm, an int64 input.
        "reshape_gemm": [0, 0, 2, 3, 4, 0, 0, 1, 3, 14, 0, 0, 3, 2, 2, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        # Shape, Gather, ConstantOfShape chains.
        "shape_chain": [0, 4, 1, 2, 3, 4, 0, 5, 22, 0, 0, 0, 0, 23, 0, 1, 2, 0, 1, 0, 0, 26, 1, 1, 0],
        "empty": [],
    }
    for name, seed in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(seed))


if __name__ == "__main__":
    numpy_seeds()
    safetensors_seeds()
    onnx_seeds()
    graph_seeds()
    for harness in ["FuzzNumpy", "FuzzSafeTensors", "FuzzONNX", "FuzzGraph"]:
        files = sorted(os.listdir(os.path.join(ROOT, harness)))
        size = sum(os.path.getsize(os.path.join(ROOT, harness, f)) for f in files)
        print("%s: %d seeds, %d bytes" % (harness, len(files), size))
