#!/usr/bin/python3
"""Malformed GGUF files must fail cleanly.

Writes a small valid llama-style GGUF (gguf_writer.py), checks that `inspect`
accepts it, then derives >= 100 broken variants (truncations at a stride, huge
counts and string lengths, bad versions, nested arrays, unknown value and tensor
types, u64 where u32 is expected, non-power-of-two alignment, overlapping,
misaligned or out-of-file tensors, bad dimensions, duplicates) and runs
`modelexport inspect FILE` and `modelexport compile-qnn FILE out.dlc` on each:
every run must exit with code 1 and print "modelexport: error:", never die from a
signal, and leave no output file behind.

    gguf_malformed.py --modelexport build/modelexport --dir WORKDIR [--jobs N]
"""
import argparse
import concurrent.futures
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402

SCALAR_SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def layout(data):
    """Byte positions of every header field of a valid GGUF: a dict of lists."""
    pos = {"version": 4, "n_tensors": 8, "n_kv": 16, "kv": [], "ti": []}
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)
    p = 24
    for _ in range(n_kv):
        kv = {"key_len": p}
        klen = struct.unpack_from("<Q", data, p)[0]
        kv["key"] = data[p + 8:p + 8 + klen].decode()
        p += 8 + klen
        kv["type"] = p
        t = struct.unpack_from("<I", data, p)[0]
        p += 4
        kv["value"] = p
        if t == 8:
            p += 8 + struct.unpack_from("<Q", data, p)[0]
        elif t == 9:
            et, n = struct.unpack_from("<IQ", data, p)
            kv["arr_type"], kv["arr_n"] = p, p + 4
            p += 12
            if et == 8:
                kv["first_str"] = p
                for _ in range(n):
                    p += 8 + struct.unpack_from("<Q", data, p)[0]
            else:
                p += n * SCALAR_SIZE[et]
        else:
            p += SCALAR_SIZE[t]
        pos["kv"].append(kv)
    for _ in range(n_tensors):
        ti = {"name_len": p}
        nlen = struct.unpack_from("<Q", data, p)[0]
        p += 8 + nlen
        ti["n_dims"] = p
        nd = struct.unpack_from("<I", data, p)[0]
        p += 4
        ti["ne"] = [p + 8 * i for i in range(nd)]
        p += 8 * nd
        ti["type"] = p
        ti["offset"] = p + 4
        p += 12
        pos["ti"].append(ti)
    pos["infos_end"] = p
    return pos


def patch(data, at, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, at, value)
    return bytes(b)


def insert(data, at, raw):
    return data[:at] + raw + data[at:]


def variants(base):
    pos = layout(base)
    n_t = struct.unpack_from("<Q", base, 8)[0]
    kv0, ti = pos["kv"][0], pos["ti"]
    kvs = {kv["key"]: kv for kv in pos["kv"]}
    out = []

    # every truncation point at a stride, up to the end of the last tensor's data
    last = ti[-1]
    data_start = (pos["infos_end"] + 31) // 32 * 32
    ends = []
    for t in ti:
        off = struct.unpack_from("<Q", base, t["offset"])[0]
        ne = [struct.unpack_from("<Q", base, p)[0] for p in t["ne"]]
        typ = struct.unpack_from("<I", base, t["type"])[0]
        bs, bb = gguf_writer.BLOCK[typ]
        n = bb * ne[0] // bs
        for d in ne[1:]:
            n *= d
        ends.append(data_start + off + n)
    data_end = max(ends)
    stride = max(1, data_end // 70)
    for n in list(range(0, pos["infos_end"], max(1, pos["infos_end"] // 40))) + \
            list(range(pos["infos_end"], data_end, stride)) + [data_end - 1]:
        out.append(("truncated at %d" % n, base[:n]))

    # header
    for v in (0, 1, 4, 0x03000000, 0xFFFFFFFF):
        out.append(("version %#x" % v, patch(base, 4, "<I", v)))
    out.append(("bad magic", b"GGUX" + base[4:]))
    for n in (n_t + 1, 1 << 32, 1 << 62, (1 << 63) - 1, (1 << 64) - 1):
        out.append(("tensor count %d" % n, patch(base, 8, "<Q", n)))
    for n in (len(pos["kv"]) + 1, 1 << 40, (1 << 64) - 1):
        out.append(("kv count %d" % n, patch(base, 16, "<Q", n)))

    # strings
    for n in (0, (1 << 30) + 1, 1 << 40, (1 << 64) - 1, len(base)):
        out.append(("first key length %d" % n, patch(base, kv0["key_len"], "<Q", n)))
    arch = kvs["general.architecture"]
    for n in (1 << 40, (1 << 64) - 1):
        out.append(("string value length %d" % n, patch(base, arch["value"], "<Q", n)))

    # fuzzing: a large block_count in a small file made the graph builder add
    # millions of KV-cache inputs (gigabytes) before finding a weight missing
    bc = kvs["llama.block_count"]
    for n in (1 << 20, 1 << 24):
        out.append(("block_count %d" % n, patch(base, bc["value"], "<I", n)))

    # value types and arrays
    for t in (13, 100, 0xFFFFFFFF):
        out.append(("value type %d" % t, patch(base, arch["type"], "<I", t)))
    toks = kvs["tokenizer.ggml.tokens"]
    scores = kvs["tokenizer.ggml.scores"]
    out.append(("nested array", patch(base, toks["arr_type"], "<I", 9)))
    out.append(("array element type 13", patch(base, toks["arr_type"], "<I", 13)))
    out.append(("array element type 0xffffffff", patch(base, scores["arr_type"], "<I", 0xFFFFFFFF)))
    for n in (1 << 31, 1 << 62, (1 << 64) - 1):
        out.append(("string array count %d" % n, patch(base, toks["arr_n"], "<Q", n)))
        out.append(("f32 array count %d" % n, patch(base, scores["arr_n"], "<Q", n)))
    out.append(("array string length huge", patch(base, toks["first_str"], "<Q", 1 << 50)))
    # a string array whose element type says u8 but holds strings: parses as bytes, then garbage follows
    out.append(("string array read as u64", patch(base, toks["arr_type"], "<I", 10)))

    # alignment (inserted as an extra first key, with the kv count raised)
    def with_kv(key, vtype, raw):
        k = key.encode()
        body = struct.pack("<Q", len(k)) + k + struct.pack("<I", vtype) + raw
        b = insert(base, 24, body)
        return patch(b, 16, "<Q", len(pos["kv"]) + 1)
    for a in (0, 3, 48, 100, 0x80000001):
        out.append(("alignment %d" % a, with_kv("general.alignment", 4, struct.pack("<I", a))))
    out.append(("alignment as u64 (u32 expected)", with_kv("general.alignment", 10, struct.pack("<Q", 32))))
    out.append(("alignment as i32", with_kv("general.alignment", 5, struct.pack("<i", 32))))
    out.append(("alignment as string", with_kv("general.alignment", 8, struct.pack("<Q", 2) + b"32")))
    out.append(("alignment 64 (tensors misaligned)", with_kv("general.alignment", 4, struct.pack("<I", 64))))
    out.append(("duplicate key", with_kv("general.architecture", 8, struct.pack("<Q", 5) + b"llama")))
    out.append(("empty key", with_kv("", 4, struct.pack("<I", 1))))

    # tensor infos
    t0, t1 = ti[0], ti[1]
    for nd in (0, 5, 0xFFFFFFFF):
        out.append(("n_dims %d" % nd, patch(base, t1["n_dims"], "<I", nd)))
    out.append(("dimension 0", patch(base, t1["ne"][0], "<Q", 0)))
    out.append(("dimension 2^63", patch(base, t1["ne"][0], "<Q", 1 << 63)))
    out.append(("dimension 2^64-1", patch(base, t1["ne"][0], "<Q", (1 << 64) - 1)))
    out.append(("row not whole blocks", patch(base, t0["ne"][0], "<Q", 33)))
    out.append(("element count overflows", patch(patch(base, t0["ne"][0], "<Q", 1 << 37), t0["ne"][1], "<Q", 1 << 37)))
    out.append(("tensor too large for the file", patch(base, t0["ne"][1], "<Q", 1 << 20)))
    for t in (4, 5, 31, 43, 99, 0xFFFFFFFF):
        out.append(("tensor type %d" % t, patch(base, t1["type"], "<I", t)))
    out.append(("overlapping tensors", patch(base, t1["offset"], "<Q", 0)))
    t1_off = struct.unpack_from("<Q", base, t1["offset"])[0]
    out.append(("misaligned tensor offset", patch(base, t1["offset"], "<Q", t1_off + 4)))
    out.append(("tensor offset overlaps next", patch(base, t0["offset"], "<Q", 32)))
    out.append(("tensor outside the file", patch(base, last["offset"], "<Q", len(base))))
    out.append(("tensor offset 2^64-32", patch(base, last["offset"], "<Q", (1 << 64) - 32)))
    out.append(("tensor offset 2^63", patch(base, last["offset"], "<Q", 1 << 63)))
    name0 = base[t0["name_len"] + 8:t0["n_dims"]]
    name1_len = struct.unpack_from("<Q", base, t1["name_len"])[0]
    if name1_len == len(name0):
        out.append(("duplicate tensor name", base[:t1["name_len"] + 8] + name0 + base[t1["n_dims"]:]))
    out.append(("tensor name length 2^40", patch(base, t1["name_len"], "<Q", 1 << 40)))
    out.append(("empty tensor name", patch(base, t1["name_len"], "<Q", 0)))
    long_name = b"x" * 64
    out.append(("tensor name of 64 bytes",
                base[:t1["name_len"]] + struct.pack("<Q", 64) + long_name + base[t1["n_dims"]:]))
    # u64 where u32 is expected: a tensor's n_dims written as a u64 shifts the rest
    out.append(("n_dims as u64", insert(base, t1["n_dims"] + 4, b"\0\0\0\0")))
    out.append(("empty file", b""))
    out.append(("magic only", b"GGUF"))
    return out


def mutations(base, count, seed):
    """Random byte changes inside the header and tensor infos; some may still be valid files."""
    import random
    rnd = random.Random(seed)
    end = layout(base)["infos_end"]
    out = []
    for i in range(count):
        b = bytearray(base)
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randrange(4, end)
            b[at] = rnd.choice([0, 0xFF, 0x80, 0x7F, rnd.randrange(256)])
        out.append(("mutation %d" % i, bytes(b)))
    return out


def run_one(exe, path, workdir, cmd, may_succeed=False):
    outp = os.path.join(workdir, os.path.basename(path) + ".dlc")
    args = [exe, "inspect", path] if cmd == "inspect" else [exe, "compile-qnn", path, outp]
    try:
        p = subprocess.run(args, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "timeout"
    err = p.stderr.decode(errors="replace")
    if p.returncode < 0:
        return "signal %d: %s" % (-p.returncode, err[-300:])
    if "AddressSanitizer" in err or "runtime error:" in err or "LeakSanitizer" in err:
        return "sanitizer report: %s" % err[-300:]
    if may_succeed and p.returncode == 0:
        if os.path.exists(outp):
            os.remove(outp)
        return None
    if p.returncode != 1:
        return "exit %d: %s" % (p.returncode, err[-300:])
    if "modelexport: error:" not in err:
        return "no 'modelexport: error:' line: %s" % err[-300:]
    left = [f for f in os.listdir(workdir) if f.startswith(os.path.basename(outp))]
    if left:
        return "left output behind: %s" % left
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modelexport", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    base_path = os.path.join(a.dir, "valid.gguf")
    gguf_writer.write_model(base_path, "llama", "q8_0", layers=1, dim=32, heads=2, kv_heads=1, ff=64, vocab=260,
                            seed=3)
    base = open(base_path, "rb").read()
    p = subprocess.run([a.modelexport, "inspect", base_path], capture_output=True)
    if p.returncode != 0:
        print("FAIL: the valid base file is rejected by inspect: %s" % p.stderr.decode(errors="replace"))
        return 1
    cases = variants(base)
    files = []
    for i, (why, data) in enumerate(cases):
        path = os.path.join(a.dir, "bad%03d.gguf" % i)
        with open(path, "wb") as f:
            f.write(data)
        files.append((why, path))
    n_bad = len(files)
    # random header mutations: may load or fail, but never crash
    for i, (why, data) in enumerate(mutations(base, 60, 7)):
        path = os.path.join(a.dir, "mut%03d.gguf" % i)
        with open(path, "wb") as f:
            f.write(data)
        files.append((why, path))
    # a block_count without the blocks' tensors is only wrong for the graph builder: inspect shows it
    jobs = [(why, path, cmd) for why, path in files for cmd in ("inspect", "compile-qnn")
            if not (why.startswith("block_count") and cmd == "inspect")]
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        results = ex.map(lambda j: (j, run_one(a.modelexport, j[1], a.dir, j[2], j[0].startswith("mutation"))), jobs)
        for (why, path, cmd), res in results:
            if res:
                failures += 1
                print("FAIL %s (%s) %s: %s" % (os.path.basename(path), why, cmd, res))
    print("gguf_malformed: %d malformed files + %d random mutations, %d runs, %d failures" % (
        n_bad, len(files) - n_bad, len(jobs), failures))
    return 1 if failures or n_bad < 100 else 0


if __name__ == "__main__":
    sys.exit(main())
