#!/usr/bin/python3
"""Bit-exact check of our GGML block dequantisation against ggml's own.

Random (seeded) valid blocks for every type we support are dequantised by
ggml's type traits (ggml_get_type_traits(type)->to_float from the
libggml-base.so shipped in npm node-llama-cpp) and by ours
(me_blockq_get(type)->to_float, plus me_ggml_to_float for F16/BF16 from
libmodelexport.so); every output float must have identical bits.
Exit 77 (skip) when node_modules is absent.

    ggml_dequant_check.py --lib build/libmodelexport.so [--ggml path/to/libggml-base.so]
"""
import argparse
import ctypes
import glob
import os
import sys

import numpy as np

TYPES = {"F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q2_K": 10, "Q3_K": 11,
         "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "BF16": 30}
# bytes per block and the offsets of fp16 fields inside a block (kept finite so
# NaN payloads do not make a bit comparison meaningless)
LAYOUT = {2: (32, 18, [0]), 3: (32, 20, [0, 2]), 6: (32, 22, [0]), 7: (32, 24, [0, 2]), 8: (32, 34, [0]),
          10: (256, 84, [80, 82]), 11: (256, 110, [108]), 12: (256, 144, [0, 2]), 13: (256, 176, [0, 2]),
          14: (256, 210, [208]), 1: (1, 2, []), 30: (1, 2, [])}


class GgmlTypeTraits(ctypes.Structure):
    # struct ggml_type_traits (ggml.h): type_name, blck_size, blck_size_interleave, type_size,
    # is_quantized, to_float, from_float_ref
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p), ("from_float_ref", ctypes.c_void_p)]


class MeBlockqTraits(ctypes.Structure):
    # me_blockq_traits (src/core/blockq.h)
    _fields_ = [("name", ctypes.c_char_p), ("block_size", ctypes.c_int), ("block_bytes", ctypes.c_int),
                ("to_float", ctypes.c_void_p)]


TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


def random_blocks(rng, t, n_blocks):
    bs, bb, f16_offsets = LAYOUT[t]
    if t in (1, 30):   # plain half / bfloat16 rows: random finite values incl. subnormals and signed zeros
        v = rng.standard_normal(n_blocks).astype(np.float32) * np.float32(10) ** rng.integers(-8, 4, n_blocks)
        v[:4] = [0.0, -0.0, 6e-8, -3e-5]
        if t == 1:
            return v.astype("<f2").view(np.uint8).tobytes()
        return (v.view(np.uint32) >> 16).astype("<u2").view(np.uint8).tobytes()
    raw = rng.integers(0, 256, size=(n_blocks, bb), dtype=np.uint8)
    for off in f16_offsets:
        s = (rng.standard_normal(n_blocks) * 10.0 ** rng.integers(-6, 2, n_blocks)).astype("<f2")
        s[0] = 0.0
        raw[:, off:off + 2] = s.view(np.uint8).reshape(n_blocks, 2)
    return raw.tobytes()


class GgmlTypeTraitsCpu(ctypes.Structure):
    # struct ggml_type_traits_cpu (ggml-cpu.h): from_float, vec_dot, vec_dot_type, nrows
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p), ("vec_dot_type", ctypes.c_int),
                ("nrows", ctypes.c_int64)]


FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                           ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def check_matmul_emulation(ggml_dir, ours, rng):
    """Our activation quantisation must equal ggml-cpu's from_float bit for bit; our vec_dot
    (ggml's generic order) must agree with ggml-cpu's SIMD vec_dot to float rounding."""
    flags = open("/proc/cpuinfo").read()
    variant = "haswell" if " avx2 " in flags and " fma " in flags else "x64"
    path = os.path.join(ggml_dir, "libggml-cpu-%s.so" % variant)
    if not os.path.exists(path):
        print("notice: %s is absent; vec_dot emulation check skipped" % path)
        return 0
    cpu = ctypes.CDLL(path)
    cpu.ggml_cpu_init()
    cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(GgmlTypeTraitsCpu)
    cpu.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]
    ours.me_fc_act_bytes.restype = ctypes.c_size_t
    ours.me_fc_act_bytes.argtypes = [ctypes.c_int, ctypes.c_int64]
    ours.me_fc_quantize_act.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
    ours.me_fc_vec_dot.restype = ctypes.c_float
    ours.me_fc_vec_dot.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    failures = 0
    n = 4096
    for name, t in TYPES.items():
        wt = cpu.ggml_get_type_traits_cpu(t).contents
        at = cpu.ggml_get_type_traits_cpu(wt.vec_dot_type).contents
        bs, bb, _ = LAYOUT[t]
        worst_rel, act_diff = 0.0, 0
        for trial in range(20):
            x = (rng.standard_normal(n) * rng.uniform(0.01, 10)).astype(np.float32)
            x[rng.integers(0, n, 8)] = 0.0
            nbytes = ours.me_fc_act_bytes(t, n)
            ref_act = ctypes.create_string_buffer(nbytes)
            our_act = ctypes.create_string_buffer(nbytes)
            FROM_FLOAT(at.from_float)(x.ctypes.data, ctypes.addressof(ref_act), n)
            ours.me_fc_quantize_act(t, x.ctypes.data, n, ctypes.addressof(our_act))
            act_diff += ref_act.raw != our_act.raw
            w = random_blocks(rng, t, n // bs if bs > 1 else n)
            wbuf = ctypes.create_string_buffer(w, len(w))
            ref = ctypes.c_float()
            VEC_DOT(wt.vec_dot)(n, ctypes.byref(ref), 0, ctypes.addressof(wbuf), 0, ctypes.addressof(ref_act), 0, 1)
            got = ours.me_fc_vec_dot(t, ctypes.addressof(wbuf), ctypes.addressof(ref_act), n)
            scale = max(abs(ref.value), 1e-30)
            worst_rel = max(worst_rel, abs(got - ref.value) / scale)
        ok = act_diff == 0 and worst_rel <= 1e-4
        failures += not ok
        print("%-5s %-4s activation blocks %s, vec_dot max rel diff %.2e" % (
            name, "ok" if ok else "FAIL", "bit-exact" if act_diff == 0 else "DIFFER in %d/20 rows" % act_diff,
            worst_rel))
    return failures


def check_writer_quantisers(ggml, rng):
    """gguf_writer.py's Q8_0 and Q4_0 quantisers must produce ggml's reference blocks."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gguf_writer
    failures = 0
    for name in ("Q8_0", "Q4_0"):
        t = TYPES[name]
        gt = ggml.ggml_get_type_traits(t).contents
        x = (rng.standard_normal(32 * 2048) * rng.uniform(0.001, 100, 32 * 2048)).astype(np.float32)
        x[:32] = 0.0                      # an all-zero block
        x[32:64] = np.float32(1.5)        # ties on the maximum
        ref = ctypes.create_string_buffer(len(x) // 32 * LAYOUT[t][1])
        FROM_FLOAT(gt.from_float_ref)(x.ctypes.data, ctypes.addressof(ref), len(x))
        ours = gguf_writer.quantize(x, t)
        nb = LAYOUT[t][1]
        diff = sum(ref.raw[i:i + nb] != ours[i:i + nb] for i in range(0, len(ours), nb))
        failures += diff != 0
        print("%-5s %-4s gguf_writer quantiser vs ggml's reference: %d of %d blocks differ" % (
            name, "ok" if diff == 0 else "FAIL", diff, len(ours) // nb))
    return failures


def find_ggml():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node_modules")
    hits = glob.glob(os.path.join(root, "@node-llama-cpp", "linux-x64", "bins", "*", "libggml-base.so"))
    return hits[0] if hits else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True, help="our libmodelexport.so")
    ap.add_argument("--ggml", help="libggml-base.so (default: from node_modules/@node-llama-cpp/linux-x64)")
    ap.add_argument("--blocks", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    path = a.ggml or find_ggml()
    if not path or not os.path.exists(path):
        print("notice: node_modules/@node-llama-cpp is absent (npm ci --ignore-scripts); ggml check skipped")
        return 77
    ggml = ctypes.CDLL(path)
    ggml.ggml_get_type_traits.restype = ctypes.POINTER(GgmlTypeTraits)
    ggml.ggml_get_type_traits.argtypes = [ctypes.c_int]
    ours = ctypes.CDLL(os.path.abspath(a.lib))
    ours.me_blockq_get.restype = ctypes.POINTER(MeBlockqTraits)
    ours.me_blockq_get.argtypes = [ctypes.c_int]
    ours.me_ggml_to_float.restype = ctypes.c_bool
    ours.me_ggml_to_float.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]

    rng = np.random.default_rng(a.seed)
    failures, total = 0, 0
    for name, t in TYPES.items():
        gt = ggml.ggml_get_type_traits(t).contents
        bs, bb, _ = LAYOUT[t]
        if gt.type_name.decode().lower() != name.lower() or gt.blck_size != bs or gt.type_size != bb or not gt.to_float:
            print("FAIL %s: ggml traits look wrong (%s, %d, %d)" % (name, gt.type_name, gt.blck_size, gt.type_size))
            failures += 1
            continue
        n_blocks = a.blocks if bs > 1 else a.blocks * 64
        src = random_blocks(rng, t, n_blocks)
        n = n_blocks * bs
        ref = np.zeros(n, np.float32)
        got = np.zeros(n, np.float32)
        buf = ctypes.create_string_buffer(src, len(src))
        TO_FLOAT(gt.to_float)(ctypes.addressof(buf), ref.ctypes.data, n)
        if bs > 1:
            mt = ours.me_blockq_get(t)
            if not mt:
                print("FAIL %s: me_blockq_get returned NULL" % name)
                failures += 1
                continue
            mt = mt.contents
            if mt.block_size != bs or mt.block_bytes != bb or not mt.to_float:
                print("FAIL %s: our traits disagree (%d, %d)" % (name, mt.block_size, mt.block_bytes))
                failures += 1
                continue
            TO_FLOAT(mt.to_float)(ctypes.addressof(buf), got.ctypes.data, n)
        elif not ours.me_ggml_to_float(t, ctypes.addressof(buf), got.ctypes.data, n):
            print("FAIL %s: me_ggml_to_float refused" % name)
            failures += 1
            continue
        diff = int(np.count_nonzero(ref.view(np.uint32) != got.view(np.uint32)))
        total += n
        status = "ok" if diff == 0 else "FAIL"
        failures += diff != 0
        print("%-5s %-4s %8d values, %d differing bits" % (name, status, n, diff))
    failures += check_matmul_emulation(os.path.dirname(path), ours, rng)
    failures += check_writer_quantisers(ggml, rng)
    print("ggml_dequant_check: %d types, %d values, %s" % (len(TYPES), total,
                                                            "all bit-exact" if not failures else
                                                            "%d types FAILED" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
