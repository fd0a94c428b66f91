#!/usr/bin/python3
"""Real-model end-to-end test: export PyTorch models (tests/models/export_models.py),
compile each with `modelexport compile-qnn` to a DLC, run it with
`modelexport run`, run ONNX Runtime (tests/tools/ort_run.js) on the same
inputs, and require max|ours - ref| <= 1e-4 * max|ref| for every output.
Also checks the BERT model's hierarchy: `inspect` shows its module tree, and
every node in the optimised DLC keeps a scope from that tree.

usage: models_test.py --modelexport BIN --workdir DIR [--only NAME ...]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_MODELS = ["resnet18", "mobilenet_v2", "vit_small", "gpt_small", "bert_small"]


def sh(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def check_hierarchy(me, work, failures):
    onnx_path = os.path.join(work, "bert_small.onnx")
    dlc = os.path.join(work, "bert_small.dlc")
    r = sh([me, "inspect", onnx_path])
    print(r.stdout)
    if r.returncode != 0 or "BertEncoder" not in r.stdout or "BertLayer.1" not in r.stdout:
        failures.append("inspect bert_small.onnx does not show the BertEncoder/BertLayer.1 hierarchy")
    r = sh([me, "inspect", dlc, "--json"])
    if r.returncode != 0:
        failures.append("inspect --json bert_small.dlc failed: " + r.stderr[:300])
        return
    info = json.loads(r.stdout)
    nodes = info.get("node_list")
    if not nodes:
        failures.append("inspect --json lists no nodes for bert_small.dlc")
        return
    unscoped = [n["name"] for n in nodes if not n.get("scope", "").startswith("/BertModel")]
    if unscoped:
        failures.append(f"{len(unscoped)} DLC nodes lost their hierarchy scope, e.g. {unscoped[:5]}")
    fused = [n for n in nodes if len(n.get("sources", [])) > 1]
    print(f"bert_small.dlc: {len(nodes)} nodes, all scoped: {not unscoped}; {len(fused)} made from several ONNX nodes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modelexport", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    me = os.path.abspath(a.modelexport)
    work = os.path.abspath(a.workdir)
    os.makedirs(work, exist_ok=True)
    models = a.only or DEFAULT_MODELS

    # Exports are deterministic; reuse them when the exporter has not changed.
    exporter = os.path.join(ROOT, "tests", "models", "export_models.py")
    stamp = os.path.join(work, ".export-stamp")
    want = f"{os.path.getmtime(exporter)} {' '.join(models)}"
    if not os.path.exists(stamp) or open(stamp).read() != want:
        r = subprocess.run(["/usr/bin/python3", exporter, work, "--only", *models])
        if r.returncode != 0:
            print("model export failed")
            print("0 passed, 1 failed")
            return 1
        open(stamp, "w").write(want)

    passed, failures = 0, []
    for m in models:
        onnx_path = os.path.join(work, m + ".onnx")
        dlc = os.path.join(work, m + ".dlc")
        lst = os.path.join(work, m + ".inputs.txt")
        ours = os.path.join(work, m + ".ours")
        ref = os.path.join(work, m + ".ort")
        r = sh([me, "compile-qnn", onnx_path, dlc, "--verify-passes"])
        print(r.stdout + r.stderr)
        if r.returncode != 0:
            failures.append(f"{m}: compile-qnn failed")
            continue
        r = sh([me, "run", dlc, "--input-list", lst, "--output-dir", ours])
        if r.returncode != 0:
            print(r.stderr)
            failures.append(f"{m}: run failed")
            continue
        r = sh(["node", os.path.join(HERE, "ort_run.js"), onnx_path, lst, ref])
        if r.returncode != 0:
            print(r.stderr)
            failures.append(f"{m}: ONNX Runtime failed")
            continue
        r = sh(["/usr/bin/python3", os.path.join(HERE, "compare_raw.py"), ours, ref,
                "--dtype-from", onnx_path, "--rel", "1e-4"])
        print(r.stdout + r.stderr)
        if r.returncode != 0:
            failures.append(f"{m}: outputs differ from ONNX Runtime")
            continue
        passed += 1
    if "resnet18" in models:
        # Conv+BatchNorm+Relu fuse into one node: it must keep a scope and
        # name every ONNX node it was made from.
        r = sh([me, "inspect", os.path.join(work, "resnet18.dlc"), "--json"])
        nodes = json.loads(r.stdout).get("node_list", []) if r.returncode == 0 else []
        fused = [n for n in nodes if n["op"] == "Conv2d" and len(n.get("sources", [])) >= 3]
        unscoped = [n["name"] for n in nodes if n["op"] == "Conv2d" and not n.get("scope")]
        print(f"resnet18.dlc: {len(fused)} Conv2d nodes made from Conv+BatchNorm+Relu, {len(unscoped)} unscoped")
        if not fused or unscoped:
            failures.append("resnet18.dlc: fused Conv2d nodes lost their scope or sources")
        else:
            passed += 1
    if "bert_small" in models:
        before = len(failures)
        check_hierarchy(me, work, failures)
        passed += len(failures) == before
    for f in failures:
        print("FAIL:", f)
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
