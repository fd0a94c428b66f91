#!/usr/bin/python3
"""The Python API (python/modelexport) against the CLI: compile the demo model
through QNNCompiler, run it from Python, and require the same bytes as
`modelexport run`; errors must raise ModelExportError with the tool's message.

usage: python_api_test.py --modelexport BIN --workdir DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
from modelexport.qnn import ModelExportError, QNNCompiler  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modelexport", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    os.makedirs(work, exist_ok=True)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "make_demo_model.py"), work], check=True)
    onnx_path, dlc = os.path.join(work, "demo_cnn.onnx"), os.path.join(work, "demo_cnn.dlc")
    passed, failed = 0, 0

    def check(cond, what):
        nonlocal passed, failed
        print(("ok   " if cond else "FAIL ") + what)
        passed += bool(cond)
        failed += not cond

    qc = QNNCompiler(binary=a.modelexport)
    summary = qc.compile(onnx_path, dlc, input_dims={"image": [1, 3, 32, 32]}, verify_passes=True)
    check(os.path.exists(dlc) and "demo_cnn.dlc" in summary, f"compile through Python: {summary}")
    info = qc.inspect(dlc)
    check([i["name"] for i in info["inputs"]] == ["image"], "inspect returns the inputs")

    image = np.fromfile(os.path.join(work, "image.raw"), dtype=np.float32).reshape(1, 3, 32, 32)
    out = qc.run(dlc, {"image": image})
    cli_dir = os.path.join(work, "cli_out")
    subprocess.run([a.modelexport, "run", dlc, "--input-list", os.path.join(work, "input_list.txt"),
                    "--output-dir", cli_dir], check=True, capture_output=True)
    cli = np.fromfile(os.path.join(cli_dir, "Result_0", "probabilities.raw"), dtype=np.float32).reshape(1, 10)
    check(out["probabilities"].shape == (1, 10) and np.array_equal(out["probabilities"], cli),
          "Python run gives the CLI's bytes")

    try:
        qc.compile(os.path.join(work, "missing.onnx"), os.path.join(work, "x.dlc"))
        check(False, "missing model raises")
    except ModelExportError as e:
        check("missing.onnx" in str(e) and e.returncode == 1, f"missing model raises: {e}")
    try:
        qc.run(dlc, {"image": image, "extra": image})
        check(False, "unknown input raises")
    except ModelExportError as e:
        check("extra" in str(e), f"unknown input raises: {e}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
