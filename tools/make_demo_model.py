#!/usr/bin/env python3
"""Writes the demo model: a small image classifier (Conv-BN-Relu-MaxPool-Conv-
Relu-GlobalAveragePool-Flatten-Gemm-Softmax) with seeded random weights, plus
one input image as a raw float32 file and a QNN-style input list.

usage: make_demo_model.py OUTDIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(1234)

    def w(name, *shape, scale=0.2):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    inits = [
        w("conv1.w", 8, 3, 3, 3), w("conv1.b", 8),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn1.scale"),
        numpy_helper.from_array(rng.uniform(-0.2, 0.2, 8).astype(np.float32), "bn1.bias"),
        numpy_helper.from_array(rng.uniform(-0.1, 0.1, 8).astype(np.float32), "bn1.mean"),
        numpy_helper.from_array(rng.uniform(0.5, 2.0, 8).astype(np.float32), "bn1.var"),
        w("conv2.w", 16, 8, 3, 3), w("conv2.b", 16),
        w("fc.w", 10, 16), w("fc.b", 10),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "conv1.w", "conv1.b"], ["c1"], name="/features/conv1/Conv",
                         pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"], ["b1"],
                         name="/features/bn1/BatchNormalization", epsilon=1e-5),
        helper.make_node("Relu", ["b1"], ["r1"], name="/features/relu1/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="/features/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.w", "conv2.b"], ["c2"], name="/features/conv2/Conv",
                         pads=[1, 1, 1, 1], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="/features/relu2/Relu"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="/head/pool/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["f"], name="/head/Flatten"),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], name="/head/fc/Gemm", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="/head/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "demo_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="modelexport-demo")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(outdir, "demo_cnn.onnx"))

    # A smooth synthetic "image" so the demo is reproducible.
    yy, xx = np.meshgrid(np.linspace(-1, 1, 32), np.linspace(-1, 1, 32), indexing="ij")
    image = np.stack([np.sin(3 * xx), np.cos(2 * yy), xx * yy]).astype(np.float32)[None]
    image.tofile(os.path.join(outdir, "image.raw"))
    with open(os.path.join(outdir, "input_list.txt"), "w") as f:
        f.write("image:=" + os.path.join(os.path.abspath(outdir), "image.raw") + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
