#!/usr/bin/python3
"""Check the pooling semantics our PoolMax2d/PoolAvg2d kernels implement
(explicit pads, ceil-mode rule "last window starts inside input or left pad",
count_pad_for_edges = window clipped to the padded extent) against ONNX's
conformance outputs for test_{average,max}pool_2d_*. Prints one line per case.

Usage: k2_check_pool_semantics.py [conformance_dir]
"""
import glob
import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def out_len(n, p0, p1, k, s, d, ceil_mode):
    eff = (k - 1) * d + 1
    num = p0 + n + p1 - eff
    if ceil_mode:
        o = -(-num // s) + 1
        if (o - 1) * s >= n + p0:
            o -= 1
    else:
        o = num // s + 1
    return o


def pool2d(x, kind, k, s, pads, d, ceil_mode, count_pad):
    n_, c_, h, w = x.shape
    (pt, pb), (pl, pr) = pads
    oh = out_len(h, pt, pb, k[0], s[0], d[0], ceil_mode)
    ow = out_len(w, pl, pr, k[1], s[1], d[1], ceil_mode)
    y = np.zeros((n_, c_, oh, ow), np.float32)
    for i in range(oh):
        for j in range(ow):
            vals = []
            npad = 0
            for a in range(k[0]):
                ih = i * s[0] - pt + a * d[0]
                for b in range(k[1]):
                    iw = j * s[1] - pl + b * d[1]
                    inside_padded = -pt <= ih < h + pb and -pl <= iw < w + pr
                    if 0 <= ih < h and 0 <= iw < w:
                        vals.append(x[:, :, ih, iw])
                    elif inside_padded:
                        npad += 1
            if kind == "max":
                y[:, :, i, j] = np.max(np.stack(vals), axis=0)
            else:
                cnt = len(vals) + (npad if count_pad else 0)
                y[:, :, i, j] = np.sum(np.stack(vals), axis=0, dtype=np.float64) / cnt
    return y


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/conformance/onnx-node"
    bad = 0
    cases = sorted(glob.glob(os.path.join(root, "test_averagepool_2d_*")) +
                   glob.glob(os.path.join(root, "test_maxpool_2d_*")) +
                   glob.glob(os.path.join(root, "test_globalaveragepool*")) +
                   glob.glob(os.path.join(root, "test_globalmaxpool*")))
    for case in cases:
        m = onnx.load(os.path.join(case, "model.onnx"))
        node = m.graph.node[0]
        if node.op_type not in ("AveragePool", "MaxPool", "GlobalAveragePool", "GlobalMaxPool"):
            continue
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(case, "test_data_set_0/input_0.pb")))
        yref = numpy_helper.to_array(onnx.load_tensor(os.path.join(case, "test_data_set_0/output_0.pb")))
        if x.dtype != np.float32 or len(node.output) > 1:
            print(f"skip {os.path.basename(case)}")
            continue
        if node.op_type.startswith("Global"):
            k = list(x.shape[2:])
        else:
            k = list(a["kernel_shape"])
        s = list(a.get("strides", [1, 1]))
        d = list(a.get("dilations", [1, 1]))
        ceil_mode = a.get("ceil_mode", 0)
        count_pad = a.get("count_include_pad", 0)
        auto_pad = a.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        p = list(a.get("pads", [0, 0, 0, 0]))
        pads = [[p[0], p[2]], [p[1], p[3]]]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for ax in range(2):
                n = x.shape[2 + ax]
                o = -(-n // s[ax])
                total = max(0, (o - 1) * s[ax] + (k[ax] - 1) * d[ax] + 1 - n)
                small = total // 2
                pads.append([small, total - small] if auto_pad == "SAME_UPPER" else [total - small, small])
        elif auto_pad == "VALID":
            pads = [[0, 0], [0, 0]]
        kind = "max" if "Max" in node.op_type else "avg"
        y = pool2d(x, kind, k, s, pads, d, ceil_mode, count_pad)
        ok = y.shape == yref.shape and np.allclose(y, yref, rtol=1e-3, atol=1e-7)
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {os.path.basename(case)} {y.shape} {yref.shape}")
    print(f"{bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
