#!/usr/bin/python3
"""Quantisation through the CLI: every option, the export -> override round
trip, saved calibration, `verify`, and the error paths (exit 2 for bad usage,
exit 1 naming the file/line/tensor for bad files).

Usage: quant_cli_test.py --modelexport BIN --workdir DIR
"""

import argparse
import filecmp
import json
import re
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def make_model(path):
    """x[1,3,8,8] -> Conv(4) -> Relu -> Conv(4, long-tailed bias) -> Add x-ish -> GlobalAveragePool -> Flatten -> Gemm(5)."""
    rng = np.random.default_rng(3)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.4
    b1 = rng.standard_normal(4).astype(np.float32) * 0.1
    w2 = rng.standard_normal((4, 4, 1, 1)).astype(np.float32) * 0.5
    b2 = rng.standard_normal(4).astype(np.float32) * 0.1
    wf = rng.standard_normal((5, 4)).astype(np.float32)
    bf = rng.standard_normal(5).astype(np.float32) * 0.1
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (wf, "wf"), (bf, "bf")]]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="/block/conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="/block/relu"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="/block/conv2"),
        helper.make_node("Add", ["c2", "r1"], ["s"], name="/block/add"),
        helper.make_node("GlobalAveragePool", ["s"], ["p"], name="/pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="/flatten"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1, name="/head/fc"),
    ]
    g = helper.make_graph(nodes, "qtest", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def make_fallback_model(path):
    """x -> Conv -> ReduceMax (no integer kernel: left in float) -> Mul(m, m) (one tensor read twice) -> Gemm."""
    rng = np.random.default_rng(5)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.4
    wf = rng.standard_normal((5, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="/conv"),
        helper.make_node("ReduceMax", ["c1"], ["m"], axes=[2, 3], keepdims=0, name="/rmax"),
        helper.make_node("Mul", ["m", "m"], ["m2"], name="/square"),
        helper.make_node("Gemm", ["m2", "wf"], ["y"], transB=1, name="/fc"),
    ]
    g = helper.make_graph(nodes, "fallback", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
                          [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(wf, "wf")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modelexport", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    me, w = os.path.abspath(a.modelexport), os.path.abspath(a.workdir)
    os.makedirs(w, exist_ok=True)
    model = os.path.join(w, "q.onnx")
    make_model(model)
    rng = np.random.default_rng(11)
    lines = []
    for k in range(8):
        p = os.path.join(w, "cal%d.raw" % k)
        rng.standard_normal((1, 3, 8, 8)).astype(np.float32).tofile(p)
        lines.append("x:=" + p)
    cal = os.path.join(w, "cal.txt")
    with open(cal, "w") as f:
        f.write("\n".join(lines) + "\n")
    P = lambda n: os.path.join(w, n)

    # ---- configurations that must compile and report ----
    base = [me, "compile-qnn", model]
    configs = {
        "a8w8": [], "a8w8pc": ["--use-per-channel-quantization", "--use_per_row_quantization"],
        "a16w8": ["--act-bitwidth", "16"], "a8w4": ["--weights_bitwidth", "4", "--use-per-channel-quantization"],
        "w16": ["--act-bitwidth", "16", "--weights-bitwidth", "16"], "bias8": ["--bias-bitwidth", "8"],
        "enh": ["--act-quantizer", "enhanced", "--param-quantizer", "enhanced"],
        "adj": ["--act-quantizer", "adjusted"], "sym": ["--act_quantizer", "symmetric"],
        "pct": ["--act-quantizer-calibration", "percentile", "--percentile-calibration-value", "99.9"],
        "mse": ["--act-quantizer-calibration", "mse"], "sqnr": ["--act-quantizer-calibration=sqnr"],
        "ent": ["--act-quantizer-calibration", "entropy"],
    }
    for name, extra in configs.items():
        r = run(base + [P(name + ".dlc"), "--quantize", "--calibration-data", cal] + extra)
        check(r.returncode == 0, "%s: exit %d: %s" % (name, r.returncode, r.stderr.strip()))
        check("output SQNR:" in r.stdout, "%s: no 'output SQNR:' line in %r" % (name, r.stdout[-300:]))
        rep = P(name + ".dlc.report.json")
        check(os.path.exists(rep), "%s: no report %s" % (name, rep))
        if os.path.exists(rep):
            j = json.load(open(rep))
            check(len(j["outputs"]) == 1 and j["outputs"][0]["name"] == "y", "%s: report outputs %r" % (name, j["outputs"]))
            check(any(s["scope"] == "/block" for s in j["scopes"]), "%s: no /block scope in the report" % name)
            if name == "a16w8":
                check(j["outputs"][0]["sqnr_db"] > 30, "a16w8: output SQNR %.2f dB" % j["outputs"][0]["sqnr_db"])
            if name == "a8w8pc":
                check(j["outputs"][0]["sqnr_db"] > 20, "a8w8pc: output SQNR %.2f dB" % j["outputs"][0]["sqnr_db"])

    # ---- export -> override gives the same artifact ----
    r1 = run(base + [P("e1.dlc"), "--quantize", "--calibration-data", cal, "--use-per-channel-quantization",
                     "--export-encodings", P("e1.json"), "-q"])
    r2 = run(base + [P("e2.dlc"), "--quantization-overrides", P("e1.json"), "--use-per-channel-quantization",
                     "--export-encodings", P("e2.json"), "-q"])
    check(r1.returncode == 0 and r2.returncode == 0, "round trip compiles: %s %s" % (r1.stderr, r2.stderr))
    if r1.returncode == 0 and r2.returncode == 0:
        check(filecmp.cmp(P("e1.json"), P("e2.json"), shallow=False), "round trip: encodings differ")
        # the artifacts differ only in the recorded command line
        views = []
        for k in (1, 2):
            rr = run([me, "inspect", "--json", P("e%d.dlc" % k)])
            j = json.loads(rr.stdout) if rr.returncode == 0 else {}
            for key in ("file", "file_bytes", "compile_options"):
                j.pop(key, None)
            views.append(j)
        check(views[0] and views[0] == views[1], "round trip: the two DLCs differ beyond the command line")
        outs = []
        for k in (1, 2):
            od = P("out%d" % k)
            rr = run([me, "run", P("e%d.dlc" % k), "--input-list", cal, "--output-dir", od])
            check(rr.returncode == 0, "run e%d: %s" % (k, rr.stderr))
            outs.append(od)
        for i in range(8):
            fa, fb = (os.path.join(o, "Result_%d" % i, "y.raw") for o in outs)
            check(os.path.exists(fa) and filecmp.cmp(fa, fb, shallow=False), "round trip: outputs of sample %d differ" % i)
        # run --debug: every tensor a node produces, in its own dtype; the graph
        # output as without --debug; the input's codes as its exported encoding says
        dd = P("outdbg")
        rr = run([me, "run", P("e1.dlc"), "--input-list", cal, "--output-dir", dd, "--debug"])
        check(rr.returncode == 0, "run --debug: %s" % rr.stderr)
        if rr.returncode == 0:
            enc = json.load(open(P("e1.json")))["activation_encodings"]["x"][0]
            for i in range(8):
                r0 = os.path.join(dd, "Result_%d" % i)
                check(filecmp.cmp(os.path.join(r0, "y.raw"), os.path.join(outs[0], "Result_%d" % i, "y.raw"), shallow=False),
                      "run --debug: output y of sample %d differs from the plain run" % i)
                x = np.fromfile(P("cal%d.raw" % i), np.float32).astype(np.float64)
                want = np.clip(np.rint(x / enc["scale"]) - enc["offset"], 0, 2 ** enc["bitwidth"] - 1)
                xq = os.path.join(r0, "x_quantized.raw")
                got = np.fromfile(xq, np.uint8) if os.path.exists(xq) else None
                check(got is not None and np.array_equal(got, want),
                      "run --debug: sample %d: x_quantized is not round(x / scale) - offset of the exported encoding" % i)
            names = sorted(os.listdir(os.path.join(dd, "Result_0")))
            check(len(names) >= 8 and "r1_perm.raw" in names, "run --debug wrote only %r" % names)
        # the same JSON in schema 1.0.0 gives the same encodings too
        legacy = json.load(open(P("e1.json")))
        v1 = {"version": "1.0.0", "activation_encodings": [], "param_encodings": []}
        for sec in ("activation_encodings", "param_encodings"):
            for n, encs in legacy[sec].items():
                v1[sec].append({"name": n, "dtype": "INT", "bw": encs[0]["bitwidth"],
                                "enc_type": "PER_CHANNEL" if len(encs) > 1 else "PER_TENSOR",
                                "is_sym": encs[0]["is_symmetric"] == "True",
                                "scale": [e["scale"] for e in encs], "offset": [e["offset"] for e in encs]})
        json.dump(v1, open(P("v1.json"), "w"))
        r3 = run(base + [P("e3.dlc"), "--quantization-overrides", P("v1.json"), "--use-per-channel-quantization",
                         "--export-encodings", P("e3.json"), "-q"])
        check(r3.returncode == 0 and filecmp.cmp(P("e1.json"), P("e3.json"), shallow=False),
              "schema 1.0.0 round trip: %s" % r3.stderr)

    # ---- saved calibration gives the same encodings without the data ----
    r1 = run(base + [P("s1.dlc"), "--calibration-data", cal, "--save-calibration", P("cal.bin"),
                     "--export-encodings", P("s1.json"), "-q"])
    r2 = run(base + [P("s2.dlc"), "--load-calibration", P("cal.bin"), "--export-encodings", P("s2.json"), "-q"])
    check(r1.returncode == 0 and r2.returncode == 0, "calibration save/load: %s %s" % (r1.stderr, r2.stderr))
    if r1.returncode == 0 and r2.returncode == 0:
        check(filecmp.cmp(P("s1.json"), P("s2.json"), shallow=False), "saved calibration gives other encodings")

    # ---- verify ----
    r = run(base + [P("f.dlc"), "-q"])
    check(r.returncode == 0, "float compile: " + r.stderr)
    r = run([me, "verify", P("f.dlc"), P("a8w8.dlc"), "--input-list", cal, "--json", P("v.json")])
    check(r.returncode == 0 and "output SQNR:" in r.stdout, "verify: %d %s" % (r.returncode, r.stderr))
    check(os.path.exists(P("v.json")) and json.load(open(P("v.json")))["outputs"][0]["name"] == "y", "verify --json")
    for t in (1, 2):
        r = run([me, "verify", P("f.dlc"), P("a8w8.dlc"), "--input-list", cal, "--threads", str(t), "--json", P("v%d.json" % t)])
        check(r.returncode == 0, "verify --threads %d: %s" % (t, r.stderr))
    check(os.path.exists(P("v1.json")) and os.path.exists(P("v2.json")) and
          filecmp.cmp(P("v1.json"), P("v2.json"), shallow=False), "verify: --threads 1 and 2 give different reports")

    # ---- ops left in float, in float32 and in float16 (--float-bitwidth 16) ----
    fb_model = P("fallback.onnx")
    make_fallback_model(fb_model)
    sq, dts = {}, {}
    for bw in (32, 16):
        out = P("fallback%d.dlc" % bw)
        r = run([me, "compile-qnn", fb_model, out, "--quantize", "--calibration-data", cal, "--float-bitwidth", str(bw)])
        m = re.search(r"output SQNR: (-?[0-9.]+) dB", r.stdout)
        check(r.returncode == 0 and m, "fallback fb%d: exit %d %s" % (bw, r.returncode, r.stderr.strip()))
        ri = run([me, "inspect", "--json", out])
        check(ri.returncode == 0, "inspect fallback%d: %s" % (bw, ri.stderr.strip()))
        if m and ri.returncode == 0:
            sq[bw] = float(m.group(1))
            dts[bw] = json.loads(ri.stdout)["tensor_dtypes"]
    if len(sq) == 2:
        print("float fallback: output SQNR %.2f dB in float32, %.2f dB in float16; tensor dtypes %r / %r"
              % (sq[32], sq[16], dts[32], dts[16]))
        check("float16" not in dts[32] and dts[16].get("float16", 0) >= 2,
              "float16 fallback: float16 tensors %r (float32 build) vs %r" % (dts[32], dts[16]))
        check(sq[32] > 25 and sq[16] > sq[32] - 1.0, "float16 fallback costs too much: %.2f vs %.2f dB" % (sq[16], sq[32]))

    # ---- usage errors: exit 2 ----
    q = base + [P("bad.dlc"), "--quantize", "--calibration-data", cal]
    usage = [
        q + ["--act-bitwidth", "12"], q + ["--weights-bitwidth", "2"], q + ["--bias-bitwidth", "16"],
        q + ["--float-bitwidth", "8"], q + ["--param-quantizer", "foo"], q + ["--act-quantizer", "tf2"],
        q + ["--act-quantizer-calibration", "median"],
        q + ["--act-quantizer-calibration", "percentile", "--percentile-calibration-value", "50"],
        q + ["--percentile-calibration-value", "99"], q + ["--float-fallback"], base + [P("bad.dlc"), "--quantize"],
        base + [P("bad.dlc"), "--act-bitwidth", "16"], q + ["--calibration-data"][:-1] + ["--act-bitwidth"],
        q + ["--load-calibration", P("cal.bin")], base + [P("bad.dlc"), "--save-calibration", P("x.bin")],
        [me, "verify", P("f.dlc"), P("a8w8.dlc")],
    ]
    for cmd in usage:
        r = run(cmd)
        check(r.returncode == 2 and "error" in r.stderr, "usage %r: exit %d %s" % (cmd[3:], r.returncode, r.stderr))
    check(not os.path.exists(P("bad.dlc")), "a failed compile left bad.dlc behind")

    def write(name, text):
        with open(P(name), "w") as f:
            f.write(text)
        return P(name)

    # ---- source-model names: overrides and exports name ONNX tensors ----
    # (conv weights become HWIO copies and activations NHWC copies inside)
    exported = json.load(open(P("e1.json")))
    check(sorted(exported["param_encodings"]) == ["b1", "b2", "bf", "w1", "w2", "wf"],
          "exported weights are not named as in the ONNX model: %r" % sorted(exported["param_encodings"]))
    check({"x", "r1", "y"} <= set(exported["activation_encodings"]),
          "exported activations lack ONNX names: %r" % sorted(exported["activation_encodings"]))
    act = P("act_r1.json")
    with open(act, "w") as f:
        json.dump({"activation_encodings": {"r1": [{"bitwidth": 8, "dtype": "int", "is_symmetric": "False",
                                                     "min": 0.0, "max": 4.0}]}, "param_encodings": {}}, f)
    r = run(base + [P("r1.dlc"), "--calibration-data", cal, "--quantization-overrides", act, "--export-encodings", P("r1.json")])
    check(r.returncode == 0, "override of activation 'r1' by its ONNX name: %s" % r.stderr.strip())
    if r.returncode == 0:
        got = json.load(open(P("r1.json")))["activation_encodings"].get("r1", [{}])[0]
        check(abs(got.get("scale", 0) - 4.0 / 255) < 1e-6 and got.get("offset") == 0,
              "override of 'r1' (min 0, max 4) not applied: %r" % got)

    # ---- LPBQ weights (schema 1.0.0): integer block multipliers of a per-channel scale ----
    src = onnx.load(model)
    W = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in src.graph.initializer}

    def lpbq(name, block):  # channels on axis 0, input channels on axis 1 (Gemm transB=1 and OIHW alike)
        w = W[name].reshape(W[name].shape[0], W[name].shape[1], -1)
        nc, nb = w.shape[0], w.shape[1] // block
        scales, mults = [], []
        for c in range(nc):
            bmax = [np.abs(w[c, b * block:(b + 1) * block]).max() for b in range(nb)]
            sc = max(bmax) / 7 / 16
            scales.append(sc)
            mults += [int(min(16, max(1, np.ceil(m / 7 / sc)))) for m in bmax]
        return {"name": name, "dtype": "INT", "enc_type": "LPBQ", "bw": 8, "compressed_bw": 4, "block_size": block,
                "is_sym": True, "scale": scales, "offset": [-128] * nc, "per_block_int_scale": mults}

    def lpbq_codes(e):  # what the weight must hold: code x multiplier, code in [-8, 7]
        w = W[e["name"]]
        blk = np.arange(w.shape[1]) // e["block_size"]
        nb = w.shape[1] // e["block_size"]
        m = np.array(e["per_block_int_scale"], np.float64).reshape(w.shape[0], nb)[:, blk]
        s = np.array(e["scale"], np.float32).astype(np.float64)[:, None]
        m = m.reshape(m.shape + (1,) * (w.ndim - 2))
        s = s.reshape(s.shape + (1,) * (w.ndim - 2))
        return (np.clip(np.rint(w / (s * m)), -8, 7) * m).astype(np.int64)

    lp = {"version": "1.0.0", "activation_encodings": [], "param_encodings": [lpbq("wf", 2), lpbq("w2", 2)]}
    lpf = write("lpbq.json", json.dumps(lp))
    r = run(base + [P("lp1.dlc"), "--calibration-data", cal, "--quantization-overrides", lpf, "--export-encodings", P("lp1.json")])
    check(r.returncode == 0 and "output SQNR:" in r.stdout, "LPBQ compile: %s" % r.stderr.strip())
    if r.returncode == 0:
        ex = json.load(open(P("lp1.json")))
        ent = {e["name"]: e for e in ex.get("param_encodings", [])} if ex.get("version") == "1.0.0" else {}
        for want in lp["param_encodings"]:
            e = ent.get(want["name"], {})
            check(e.get("enc_type") == "LPBQ" and e.get("per_block_int_scale") == want["per_block_int_scale"] and
                  e.get("block_size") == 2 and e.get("compressed_bw") == 4 and
                  np.allclose(e.get("scale", []), want["scale"], rtol=1e-6),
                  "LPBQ export of %s: %r" % (want["name"], e))
        r2 = run(base + [P("lp2.dlc"), "--calibration-data", cal, "--quantization-overrides", P("lp1.json"),
                         "--export-encodings", P("lp2.json")])
        check(r2.returncode == 0 and filecmp.cmp(P("lp1.json"), P("lp2.json"), shallow=False),
              "LPBQ round trip: the exported encodings do not reproduce themselves: %s" % r2.stderr.strip())
        # the weights as stored: the QDQ export's int8 initializers (OIHW / [out, in] like the source)
        rq = run(base + [P("lp1.onnx"), "--format", "onnx-qdq", "--calibration-data", cal, "--quantization-overrides", lpf])
        check(rq.returncode == 0, "LPBQ onnx-qdq export: %s" % rq.stderr.strip())
        if rq.returncode == 0:
            q = onnx.load(P("lp1.onnx"))
            ints = [numpy_helper.to_array(i) for i in q.graph.initializer if i.data_type == TensorProto.INT8]
            for want in lp["param_encodings"]:
                codes = lpbq_codes(want)
                check(any(a.shape == codes.shape and np.array_equal(a.astype(np.int64), codes) for a in ints),
                      "LPBQ weight %s is not code x multiplier of its encoding" % want["name"])
    bad_lp = [
        ("lpbq_act.json", {"version": "1.0.0", "param_encodings": [],
                           "activation_encodings": [dict(lpbq("wf", 2), name="r1")]}, ["lpbq_act.json", "'r1'", "weights"]),
        ("lpbq_mult.json", {"version": "1.0.0", "activation_encodings": [],
                            "param_encodings": [dict(lpbq("wf", 2), per_block_int_scale=[17] * 10)]},
         ["lpbq_mult.json", "'wf'", "per_block_int_scale"]),
        ("lpbq_block.json", {"version": "1.0.0", "activation_encodings": [],
                             "param_encodings": [dict(lpbq("w2", 2), block_size=3)]}, ["'w2'", "block_size 3"]),
        ("per_block.json", {"version": "1.0.0", "activation_encodings": [],
                            "param_encodings": [dict(lpbq("wf", 2), enc_type="PER_BLOCK")]},
         ["per_block.json", "'wf'", "PER_BLOCK", "not supported"]),
    ]
    for fname, body, needles in bad_lp:
        r = run(base + [P("bad.dlc"), "--calibration-data", cal, "--quantization-overrides", write(fname, json.dumps(body))])
        check(r.returncode == 1 and all(n in r.stderr for n in needles),
              "bad LPBQ file %s: exit %d, stderr %r lacks %r" % (fname, r.returncode, r.stderr.strip(), needles))
    check(not os.path.exists(P("bad.dlc")), "a failed LPBQ compile left bad.dlc behind")

    # ---- bad files: exit 1 naming the file and line / tensor ----

    empty = write("empty.txt", "\n\n")
    short = P("short.raw")
    np.zeros(10, np.float32).tofile(short)
    wrong = write("wrong.txt", "x:=%s\nx:=%s\n" % (os.path.join(w, "cal0.raw"), short))
    missing = write("missing.txt", "x:=%s\n" % P("nope.raw"))
    badname = write("badname.txt", "z:=%s\n" % P("cal0.raw"))
    malformed = write("malformed.json", '{\n  "activation_encodings": {\n    "y": [{"bitwidth": 8,,}]\n  }\n}\n')
    unknown = write("unknown.json", json.dumps({"activation_encodings": {"no_such_tensor": [{"bitwidth": 8, "min": 0, "max": 1}]},
                                                "param_encodings": {}}))
    badbw = write("badbw.json", json.dumps({"activation_encodings": {"y": [{"bitwidth": 12, "min": 0, "max": 1}]},
                                            "param_encodings": {}}))
    badw = write("badw.json", json.dumps({"activation_encodings": {}, "param_encodings": {
        "w1": [{"bitwidth": 8, "is_symmetric": "True", "scale": 0.1, "offset": -128}] * 3}}))
    corrupt = P("corrupt.bin")
    with open(P("cal.bin"), "rb") as f:
        data = f.read()
    with open(corrupt, "wb") as f:
        f.write(data[: len(data) // 2])
    cases = [
        (base + [P("bad.dlc"), "--calibration-data", empty], ["empty.txt", "no inference lines"]),
        (base + [P("bad.dlc"), "--calibration-data", wrong], ["wrong.txt", "line 2", "short.raw", "bytes"]),
        (base + [P("bad.dlc"), "--calibration-data", missing], ["missing.txt", "line 1", "nope.raw"]),
        (base + [P("bad.dlc"), "--calibration-data", badname], ["badname.txt", "line 1", "'z'"]),
        (base + [P("bad.dlc"), "--calibration-data", P("none.txt")], ["none.txt"]),
        (base + [P("bad.dlc"), "--quantization-overrides", malformed], ["malformed.json", "line 3"]),
        (base + [P("bad.dlc"), "--quantization-overrides", unknown], ["unknown.json", "no_such_tensor"]),
        (base + [P("bad.dlc"), "--quantization-overrides", badbw], ["badbw.json", "'y'", "bitwidth 12"]),
        (base + [P("bad.dlc"), "--quantization-overrides", P("none.json")], ["none.json"]),
        (base + [P("bad.dlc"), "--load-calibration", corrupt], ["corrupt.bin"]),
        (base + [P("bad.dlc"), "--load-calibration", empty], ["empty.txt", "not a modelexport calibration file"]),
        ([me, "verify", P("f.dlc"), P("a8w8.dlc"), "--input-list", wrong], ["wrong.txt", "line 2"]),
    ]
    for cmd, needles in cases:
        r = run(cmd)
        ok = r.returncode == 1 and all(n in r.stderr for n in needles)
        check(ok, "bad file %r: exit %d, stderr %r lacks %r" % (cmd[-1], r.returncode, r.stderr.strip(), needles))
    # per-channel weight override with the wrong channel count names the tensor
    r = run(base + [P("bad.dlc"), "--calibration-data", cal, "--quantization-overrides", badw])
    check(r.returncode == 1 and "'w1'" in r.stderr and "3 channels given" in r.stderr,
          "bad weight override: %d %s" % (r.returncode, r.stderr))
    check(not os.path.exists(P("bad.dlc")), "a failed compile left bad.dlc behind")

    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("quant_cli_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
