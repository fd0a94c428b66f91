#!/usr/bin/python3
"""Compiling a torchvision ResNet-50 export (~100 MB) must peak below 1.3x the
file size in resident memory: weights are referenced in the mapped file, not
copied to the heap.

usage: memory_test.py --modelexport BIN --workdir DIR
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modelexport", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    model = os.path.join(a.workdir, "resnet50.onnx")
    if not os.path.exists(model):
        r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests/models/export_models.py"),
                            a.workdir, "--only", "resnet50"])
        if r.returncode != 0:
            print("0 passed, 1 failed")
            return 1
    out = os.path.join(a.workdir, "resnet50.dlc")
    # Peak RSS of the compile process alone (wait4 reports that child's own
    # usage; RUSAGE_CHILDREN would include the exporter run above).
    proc = subprocess.Popen([a.modelexport, "compile-qnn", model, out])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    r = proc
    peak = usage.ru_maxrss * 1024
    size = os.path.getsize(model)
    ratio = peak / size
    print(f"resnet50.onnx {size / 1e6:.1f} MB, compile peak RSS {peak / 1e6:.1f} MB = {ratio:.2f}x (limit 1.30x)")
    ok = r.returncode == 0 and ratio < 1.3
    print(f"{int(ok)} passed, {int(not ok)} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
