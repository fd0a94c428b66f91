#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer targets (tests/fuzz, docs/fuzzing.md).

    make_corpus.py --out DIR --modelexport PATH

DIR/<target>/ gets a few small valid inputs per reader: ONNX models built here
with onnx.helper, DLCs and context binaries compiled from them (float, quantised,
and a GGUF language model) with the given modelexport binary, GGUF models from
tests/tools/gguf_writer.py, encodings JSON files in both QNN schemas (tensor
names of tests/fuzz/fuzz_encodings.c), calibration statistics saved by a
quantised compile and input lists (names and files of fuzz_input_list.c).
Nothing is committed: the seeds are generated on every run.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import gguf_writer  # noqa: E402


def model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "seed", inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_corpus.py")
    m.ir_version = 8
    return m.SerializeToString()


def vi(name, shape, dt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dt, shape)


def onnx_seeds():
    rng = np.random.default_rng(3)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    init = numpy_helper.from_array
    seeds = {}
    seeds["conv_relu_gemm"] = model(
        [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("Flatten", ["r"], ["fl"], axis=1),
         helper.make_node("Gemm", ["fl", "W2", "B2"], ["y"], transB=1)],
        [vi("x", [1, 3, 4, 4])], [vi("y", [1, 5])],
        [init(f(4, 3, 3, 3), "W"), init(f(4), "B"), init(f(5, 64), "W2"), init(f(5), "B2")])
    seeds["matmul_add_softmax"] = model(
        [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Add", ["m", "b"], ["a"]),
         helper.make_node("Softmax", ["a"], ["y"], axis=-1)],
        [vi("x", [2, 8])], [vi("y", [2, 6])], [init(f(8, 6), "W"), init(f(6), "b")])
    seeds["reshape_transpose_concat"] = model(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0]),
         helper.make_node("Concat", ["t", "t"], ["y"], axis=0)],
        [vi("x", [2, 3, 2])], [vi("y", [6, 4])],
        [init(np.array([4, 3], np.int64), "shape")])
    seeds["gather_layernorm"] = model(
        [helper.make_node("Gather", ["E", "ids"], ["g"], axis=0),
         helper.make_node("LayerNormalization", ["g", "s", "b"], ["y"], axis=-1, epsilon=1e-5)],
        [vi("ids", [1, 3], TensorProto.INT64)], [vi("y", [1, 3, 8])],
        [init(f(10, 8), "E"), init(np.ones(8, np.float32), "s"), init(np.zeros(8, np.float32), "b")])
    seeds["pool_resize_sigmoid"] = model(
        [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Resize", ["p", "", "scales"], ["r"], mode="nearest"),
         helper.make_node("Sigmoid", ["r"], ["s"]), helper.make_node("ReduceMean", ["s", "axes"], ["y"], keepdims=0)],
        [vi("x", [1, 2, 4, 4])], [vi("y", [1, 2])],
        [init(np.array([1, 1, 2, 2], np.float32), "scales"), init(np.array([2, 3], np.int64), "axes")], opset=18)
    seeds["slice_where_cast"] = model(
        [helper.make_node("Slice", ["x", "st", "en"], ["s"]), helper.make_node("Greater", ["s", "z"], ["c"]),
         helper.make_node("Where", ["c", "s", "z"], ["w"]), helper.make_node("Cast", ["w"], ["y"], to=TensorProto.INT32)],
        [vi("x", [4, 6])], [vi("y", [2, 6], TensorProto.INT32)],
        [init(np.array([1], np.int64), "st"), init(np.array([3], np.int64), "en"), init(np.zeros(1, np.float32), "z")])
    return seeds


def run(cmd):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit("make_corpus.py: %s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))


def calib_file(tensors):
    """The --save-calibration format (src/quant/calib_stats.c)."""
    out = bytearray(b"MECALIB1" + struct.pack("<3I", 2048, len(tensors), 3))
    for name, lo, hi, hist in tensors:
        b = name.encode()
        h = np.zeros(2048, np.uint64)
        for k, v in hist.items():
            h[k] = v
        out += struct.pack("<I", len(b)) + b + struct.pack("<ddQQ", lo, hi, int(h.sum()), 0) + h.tobytes()
    return bytes(out)


def encodings_seeds():
    legacy = {
        "version": "0.6.1",
        "activation_encodings": {
            "input": [{"bitwidth": 8, "min": -1.0, "max": 1.0, "scale": 2.0 / 255, "offset": -128, "is_symmetric": "False",
                       "dtype": "int"}],
            "conv_out": [{"bitwidth": 16, "dtype": "float"}],
            "output": [{"bitwidth": 8, "min": 0.0, "max": 4.0}],
        },
        "param_encodings": {
            "conv.weight": [{"bitwidth": 8, "scale": 0.01, "offset": 0, "is_symmetric": "True"} for _ in range(4)],
            "fc.bias": [{"bitwidth": 32, "scale": 1e-4, "offset": 0}],
        },
    }
    v1 = {
        "version": "1.0.0",
        "activation_encodings": [
            {"name": "input", "dtype": "INT", "enc_type": "PER_TENSOR", "bw": 8, "is_sym": False, "scale": [0.01],
             "offset": [-128]},
            {"name": "relu_out", "dtype": "FLOAT", "bw": 16},
        ],
        "param_encodings": [
            {"name": "conv.weight", "dtype": "INT", "enc_type": "PER_CHANNEL", "bw": 8, "is_sym": True,
             "scale": [0.01, 0.02, 0.03, 0.04], "offset": [0, 0, 0, 0]},
            {"name": "fc.weight", "dtype": "INT", "enc_type": "LPBQ", "bw": 8, "is_sym": True, "block_size": 64,
             "compressed_bw": 4, "scale": [0.01] * 64, "offset": [-8] * 64, "per_block_int_scale": [1] * 64},
        ],
    }
    v1_small = {"version": "1.0.0", "activation_encodings": [], "param_encodings": [
        {"name": "fc.bias", "dtype": "INT", "bw": 32, "scale": [1e-5], "offset": [0]}]}
    return {"legacy.json": json.dumps(legacy, indent=1), "v1.json": json.dumps(v1, indent=1),
            "v1_small.json": json.dumps(v1_small), "legacy_empty.json": json.dumps(
                {"activation_encodings": {}, "param_encodings": {}})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--modelexport", required=True, help="a modelexport binary (compiles the DLC / .bin seeds)")
    a = ap.parse_args()
    me = os.path.abspath(a.modelexport)
    dirs = {k: os.path.join(a.out, k) for k in ("onnx", "dlc", "ctxbin", "gguf", "encodings", "calib", "input_list")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    work = os.path.join(a.out, "work")
    os.makedirs(work, exist_ok=True)

    def put(kind, name, data):
        with open(os.path.join(dirs[kind], name), "wb" if isinstance(data, bytes) else "w") as fh:
            fh.write(data)

    # ONNX, and DLC / context binaries compiled from the first few
    seeds = onnx_seeds()
    for name, data in seeds.items():
        put("onnx", name + ".onnx", data)
    for name in ("conv_relu_gemm", "matmul_add_softmax", "reshape_transpose_concat", "gather_layernorm"):
        src = os.path.join(dirs["onnx"], name + ".onnx")
        run([me, "compile-qnn", src, os.path.join(dirs["dlc"], name + ".dlc")])
        run([me, "compile-qnn", src, os.path.join(dirs["ctxbin"], name + ".bin")])
    # a quantised DLC (encodings section) with its calibration statistics
    x = np.random.default_rng(5).standard_normal((2, 8)).astype(np.float32)
    for i in range(2):
        x.tofile(os.path.join(work, "x%d.raw" % i))
    with open(os.path.join(work, "calib.txt"), "w") as fh:
        fh.write("x0.raw\nx1.raw\n")
    src = os.path.join(dirs["onnx"], "matmul_add_softmax.onnx")
    run([me, "compile-qnn", src, os.path.join(work, "matmul_q8.dlc"), "--calibration-data",
         os.path.join(work, "calib.txt"), "--save-calibration", os.path.join(dirs["calib"], "matmul.calib")])
    os.replace(os.path.join(work, "matmul_q8.dlc"), os.path.join(dirs["dlc"], "matmul_q8.dlc"))
    run([me, "compile-qnn", src, os.path.join(dirs["ctxbin"], "matmul_q8.bin"), "--load-calibration",
         os.path.join(dirs["calib"], "matmul.calib")])
    put("calib", "two.calib", calib_file([("input", -1.0, 2.0, {0: 3, 2047: 1}), ("y", 0.0, 0.0, {})]))

    # GGUF language models (tiny), and one compiled to a DLC (LLM section)
    tiny = dict(layers=1, dim=16, heads=2, kv_heads=1, ff=32, vocab=264, ctx=32)
    gguf_writer.write_model(os.path.join(dirs["gguf"], "llama_f32.gguf"), arch="llama", wtype="f32", **tiny)
    gguf_writer.write_model(os.path.join(dirs["gguf"], "qwen2_f16.gguf"), arch="qwen2", wtype="f16", **tiny)
    gguf_writer.write_model(os.path.join(dirs["gguf"], "llama_q8_v2.gguf"), arch="llama", wtype="q8_0", version=2,
                            **dict(tiny, dim=32, ff=64))
    gguf_writer.write_model(os.path.join(dirs["gguf"], "llama_tied.gguf"), arch="llama", wtype="f32", tied=True, **tiny)
    run([me, "compile-qnn", os.path.join(dirs["gguf"], "llama_f32.gguf"), os.path.join(dirs["dlc"], "llama.dlc"),
         "--seq-len", "4", "--context-length", "16"])

    for name, text in encodings_seeds().items():
        put("encodings", name, text)

    lists = {
        "plain.txt": "x.raw y.raw\n",
        "named.txt": "#out\nx:=x.raw y:0:=y.raw\n\n%comment\ny:0:=y.raw x:=x.raw\n",
        "two_runs.txt": "x.raw y.raw\r\nx.raw  y.raw \n",
        "bad_size.txt": "x.raw bad.raw\n",
    }
    for name, text in lists.items():
        put("input_list", name, text)
    print("make_corpus.py: seeds in %s" % a.out)


if __name__ == "__main__":
    main()
