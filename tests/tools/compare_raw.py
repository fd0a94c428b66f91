#!/usr/bin/python3
"""Compare two output trees written by `modelexport run` / ort_run.js.

Usage:
    compare_raw.py DIR_OURS DIR_REF --dtype-from MODEL.onnx [--rel 1e-4] [--atol 0]

Both directories hold Result_<i>/<sanitized output name>.raw. The dtype of each
file comes from the model's graph outputs. Criteria:
  float32/float16/double: NaN and +-inf positions must match, and on the finite
      elements max|ours - ref| <= rel * max|ref| + atol;
  integers and bool: exact.
One line per file with the figures, then `N passed, M failed`. Exit 1 if any
comparison fails, a file is missing on either side, sizes differ, a file does
not match any graph output, or nothing at all was compared.
"""

import argparse
import os
import re
import sys

import numpy as np
import onnx

# TensorProto data type -> little-endian numpy dtype.
NP_DTYPES = {
    onnx.TensorProto.FLOAT: np.dtype("<f4"),
    onnx.TensorProto.FLOAT16: np.dtype("<f2"),
    onnx.TensorProto.DOUBLE: np.dtype("<f8"),
    onnx.TensorProto.INT64: np.dtype("<i8"),
    onnx.TensorProto.INT32: np.dtype("<i4"),
    onnx.TensorProto.INT16: np.dtype("<i2"),
    onnx.TensorProto.INT8: np.dtype("i1"),
    onnx.TensorProto.UINT64: np.dtype("<u8"),
    onnx.TensorProto.UINT32: np.dtype("<u4"),
    onnx.TensorProto.UINT16: np.dtype("<u2"),
    onnx.TensorProto.UINT8: np.dtype("u1"),
    onnx.TensorProto.BOOL: np.dtype("u1"),
}


SAFE_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def sanitize(name):
    """Output-file name rule of `modelexport run`: every byte of the UTF-8 name
    outside [A-Za-z0-9._-] becomes '_'."""
    return "".join(chr(b) if b in SAFE_CHARS else "_" for b in name.encode("utf-8"))


def output_dtypes(model_path):
    """Map '<sanitized name>.raw' -> (output name, numpy dtype)."""
    model = onnx.load(model_path, load_external_data=False)
    table = {}
    for out in model.graph.output:
        if not out.name:
            continue
        elem = out.type.tensor_type.elem_type
        if elem not in NP_DTYPES:
            raise SystemExit("compare_raw: output %r has unsupported type %s"
                             % (out.name, onnx.TensorProto.DataType.Name(elem)))
        table[sanitize(out.name) + ".raw"] = (out.name, NP_DTYPES[elem])
    return table


def list_results(root):
    """Return {'Result_i/file.raw'} under root (only Result_* directories)."""
    found = set()
    if not os.path.isdir(root):
        return found
    for d in os.listdir(root):
        sub = os.path.join(root, d)
        if re.fullmatch(r"Result_\d+", d) and os.path.isdir(sub):
            found.update(d + "/" + f for f in os.listdir(sub))
    return found


def compare(ours, ref, dtype, rel, atol):
    """Compare two byte strings of the given dtype; return (ok, figures text)."""
    if len(ours) != len(ref):
        return False, "size mismatch: %d vs %d bytes" % (len(ours), len(ref))
    if len(ours) % dtype.itemsize:
        return False, "size %d is not a multiple of %d" % (len(ours), dtype.itemsize)
    a = np.frombuffer(ours, dtype)
    b = np.frombuffer(ref, dtype)
    n = a.size
    if dtype.kind != "f":
        bad = int(np.count_nonzero(a != b))
        diff = 0 if n == 0 else int(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        return bad == 0, "n=%d mismatches=%d max_abs_err=%d" % (n, bad, diff)

    a = a.astype(np.float64)
    b = b.astype(np.float64)
    nan_bad = int(np.count_nonzero(np.isnan(a) != np.isnan(b)))
    inf_bad = int(np.count_nonzero((np.isinf(a) | np.isinf(b)) & (a != b)))
    finite = np.isfinite(a) & np.isfinite(b)
    err = float(np.max(np.abs(a[finite] - b[finite]))) if finite.any() else 0.0
    scale = float(np.max(np.abs(b[finite]))) if finite.any() else 0.0
    limit = rel * scale + atol
    ok = nan_bad == 0 and inf_bad == 0 and err <= limit
    text = "n=%d max_abs_err=%.3g max_abs_ref=%.3g rel_err=%.3g (limit %.3g)" % (
        n, err, scale, err / scale if scale else (0.0 if err == 0 else float("inf")), limit)
    if nan_bad or inf_bad:
        text += " nan_mismatch=%d inf_mismatch=%d" % (nan_bad, inf_bad)
    return ok, text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ours")
    ap.add_argument("ref")
    ap.add_argument("--dtype-from", required=True, metavar="MODEL.onnx")
    ap.add_argument("--rel", type=float, default=1e-4,
                    help="float tolerance relative to max|ref| (default 1e-4)")
    ap.add_argument("--atol", type=float, default=0.0,
                    help="extra absolute float tolerance (default 0)")
    args = ap.parse_args()

    dtypes = output_dtypes(args.dtype_from)
    ours, ref = list_results(args.ours), list_results(args.ref)
    passed = failed = 0
    for rel_path in sorted(ours | ref, key=lambda p: (int(p.split("/")[0][7:]), p)):
        fname = rel_path.split("/", 1)[1]
        if rel_path not in ours or rel_path not in ref:
            print("FAIL %s: missing in %s" % (rel_path, args.ours if rel_path not in ours else args.ref))
            failed += 1
            continue
        if fname not in dtypes:
            print("FAIL %s: not an output of %s" % (rel_path, args.dtype_from))
            failed += 1
            continue
        name, dtype = dtypes[fname]
        with open(os.path.join(args.ours, rel_path), "rb") as f:
            a = f.read()
        with open(os.path.join(args.ref, rel_path), "rb") as f:
            b = f.read()
        ok, text = compare(a, b, dtype, args.rel, args.atol)
        print("%s %s (%s): %s" % ("ok  " if ok else "FAIL", rel_path, dtype.name, text))
        passed += ok
        failed += not ok
    if passed + failed == 0:
        print("FAIL: no Result_*/*.raw files in %s or %s" % (args.ours, args.ref))
        failed = 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
