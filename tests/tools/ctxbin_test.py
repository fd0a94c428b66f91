#!/usr/bin/python3
"""Context binaries through the CLI: compile-qnn --format context-binary on real
models gives outputs identical to the .dlc's; inspect shows the target, plan and
kernels; --backend HTP is refused with the QNN SDK explanation and leaves no
file; a binary for another CPU (armv8.2-a+dotprod, or a forged feature bit) is
refused on load with a message naming what is missing, yet can be inspected."""
import argparse
import json
import os
import platform
import subprocess
import sys

import xxhash  # python3-xxhash: the context binary's trailer checksum is XXH3-64

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def same_tree(a, b):
    for dp, _, files in os.walk(a):
        for f in files:
            pa = os.path.join(dp, f)
            pb = os.path.join(b, os.path.relpath(pa, a))
            if not os.path.exists(pb) or open(pa, "rb").read() != open(pb, "rb").read():
                return False
    return True


def forge_features(src, dst, bit):
    """Copy a context binary with one more target feature bit and a repaired checksum."""
    b = bytearray(open(src, "rb").read())
    u64 = lambda o: int.from_bytes(b[o:o + 8], "little")
    target = None
    for i in range(7):
        e = 64 + 32 * i
        if int.from_bytes(b[e:e + 4], "little") == 1:
            target = u64(e + 8)
    feats = u64(target + 8) | (1 << bit)
    b[target + 8:target + 16] = feats.to_bytes(8, "little")
    trailer = len(b) - 16
    b[trailer:trailer + 8] = xxhash.xxh3_64_intdigest(bytes(b[:trailer])).to_bytes(8, "little")
    open(dst, "wb").write(bytes(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modelexport", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    me, work = a.modelexport, a.workdir
    os.makedirs(work, exist_ok=True)
    models = ["resnet18", "mobilenet_v2"]
    if not all(os.path.exists(os.path.join(work, m + ".onnx")) for m in models):
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "models", "export_models.py"), work, "--only"] + models,
                       check=True, stdout=subprocess.DEVNULL)
    fails = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            fails.append(what)

    for m in models:
        onnx = os.path.join(work, m + ".onnx")
        lst = os.path.join(work, m + ".inputs.txt")
        bin_, dlc = os.path.join(work, m + ".bin"), os.path.join(work, m + ".dlc")
        r1 = run([me, "compile-qnn", onnx, bin_, "-q"])
        r2 = run([me, "compile-qnn", onnx, dlc, "-q"])
        check(r1.returncode == 0 and r2.returncode == 0, "%s: compile .bin and .dlc %s" % (m, r1.stderr.strip()))
        o1, o2 = os.path.join(work, m + ".out_bin"), os.path.join(work, m + ".out_dlc")
        r1 = run([me, "run", bin_, "--input-list", lst, "--output-dir", o1])
        r2 = run([me, "run", dlc, "--input-list", lst, "--output-dir", o2])
        check(r1.returncode == 0 and r2.returncode == 0 and same_tree(o2, o1),
              "%s: the context binary's outputs equal the DLC's %s" % (m, r1.stderr.strip()))
        t = run([me, "inspect", bin_])
        check(t.returncode == 0 and "context binary" in t.stdout and "not Qualcomm's" in t.stdout
              and "target: cpu, native" in t.stdout and "plan:" in t.stdout, "%s: inspect shows the context binary" % m)
        j = run([me, "inspect", bin_, "--json"])
        try:
            js = json.loads(j.stdout)
            ok = js["format"] == "context-binary" and len(js["kernels"]) == js["nodes"] and js["plan"]["arena_bytes"] > 0
        except (ValueError, KeyError):
            ok = False
        check(ok, "%s: inspect --json lists a kernel per node and the plan" % m)

    onnx = os.path.join(work, "resnet18.onnx")
    lst = os.path.join(work, "resnet18.inputs.txt")
    htp = os.path.join(work, "htp.bin")
    r = run([me, "compile-qnn", onnx, htp, "--format", "context-binary", "--backend", "HTP"])
    check(r.returncode == 1 and "QNN SDK" in r.stderr and not os.path.exists(htp), "--backend HTP is refused: " + r.stderr.strip()[:100])

    arm = os.path.join(work, "arm.bin")
    r = run([me, "compile-qnn", onnx, arm, "--device", "armv8.2-a+dotprod", "-q"])
    check(r.returncode == 0, "compile for armv8.2-a+dotprod")
    if platform.machine() != "aarch64":
        r = run([me, "run", arm, "--input-list", lst, "--output-dir", os.path.join(work, "arm_out")])
        check(r.returncode == 1 and "armv8.2-a+dotprod" in r.stderr and "aarch64" in r.stderr,
              "an aarch64 binary is refused on this CPU: " + r.stderr.strip()[:120])
    r = run([me, "inspect", arm])
    check(r.returncode == 0 and "armv8.2-a+dotprod" in r.stdout, "an aarch64 binary can be inspected")

    # the portable target runs the generic kernels: close to the native ones
    gen = os.path.join(work, "generic.bin")
    r = run([me, "compile-qnn", onnx, gen, "--device", "x86-64" if platform.machine() == "x86_64" else "armv8-a", "-q"])
    o = os.path.join(work, "generic_out")
    r2 = run([me, "run", gen, "--input-list", lst, "--output-dir", o])
    cmp = run([sys.executable, os.path.join(ROOT, "tests", "tools", "compare_raw.py"), "--dtype-from", onnx, o,
               os.path.join(work, "resnet18.out_dlc")])
    check(r.returncode == 0 and r2.returncode == 0 and cmp.returncode == 0,
          "a baseline-ISA binary runs (generic kernels) and matches the native one: " + (r.stderr + r2.stderr + cmp.stdout).strip()[-150:])
    j = json.loads(run([me, "inspect", gen, "--json"]).stdout)
    ks = {k["kernel"] for k in j["kernels"]}
    check(any(k.endswith("__generic") for k in ks) and not any("avx" in k or "neon" in k for k in ks),
          "the baseline binary records only generic kernels: " + ", ".join(sorted(ks))[:150])

    forged = os.path.join(work, "forged.bin")
    forge_features(os.path.join(work, "resnet18.bin"), forged, 61)
    r = run([me, "run", forged, "--input-list", lst, "--output-dir", os.path.join(work, "forged_out")])
    check(r.returncode == 1 and "bit 61" in r.stderr, "a forged feature bit is refused: " + r.stderr.strip()[:120])

    print("%d failure(s)" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
