#!/usr/bin/env bash
# make demo: generate a small classifier, compile it to a DLC, inspect it, run
# it, and print the class probabilities.
set -euo pipefail
build=${1:-build}
me="$build/modelexport"
out="$build/demo"
rm -rf "$out"
mkdir -p "$out"
/usr/bin/python3 tools/make_demo_model.py "$out"
echo "== compile-qnn"
"$me" compile-qnn "$out/demo_cnn.onnx" "$out/demo_cnn.dlc"
echo "== inspect"
"$me" inspect "$out/demo_cnn.dlc"
echo "== run"
"$me" run "$out/demo_cnn.dlc" --input-list "$out/input_list.txt" --output-dir "$out/output"
echo "== result ($out/output/Result_0/probabilities.raw)"
/usr/bin/python3 - "$out/output/Result_0/probabilities.raw" <<'PY'
import sys
import numpy as np
p = np.fromfile(sys.argv[1], dtype=np.float32)
for i in np.argsort(-p)[:3]:
    print(f"class {i}: {p[i]:.4f}")
print(f"sum of probabilities: {p.sum():.6f}")
PY
