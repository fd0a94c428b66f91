#!/usr/bin/python3
"""Small GGUF (v3) writer with our own quantisers, for test models.

Function API:
    w = GGUFWriter(); w.add_u32(key, v); w.add_str(...); w.add_array(key, vtype, values)
    w.add_tensor(name, array_rowmajor_float32, ggml_type); w.write(path)
    write_model(path, arch="llama"|"qwen2", wtype="f32"|"f16"|"bf16"|"q8_0"|"q4_0"|"q6_k"|"q4_k", ...)
    quantize(array, ggml_type) -> bytes (rows along the last axis)
CLI:
    gguf_writer.py OUT.gguf --arch llama --type q8_0 --layers 2 --dim 64 --heads 4 --kv-heads 2
                   --ff 128 --vocab 300 --seed 1 [--tied]

Layouts follow ../shared/reference/gguf.md (§1 file layout, §4 blocks, §5 keys,
§6 tensor names). Quantisers: Q8_0 and Q4_0 as ggml's reference quantisers do it
(§4.3, §4.7); Q6_K and Q4_K with a simple (valid, not optimal) scale search.
A weight whose row length is not a multiple of the chosen type's block falls back
to Q8_0 (or F16 when not a multiple of 32), as llama-quantize does for such rows.
"""
import argparse
import struct
import sys

import numpy as np

# GGUF metadata value types (gguf.md §1.3)
U8, I8, U16, I16, U32, I32, F32V, BOOL, STRING, ARRAY, U64, I64, F64V = range(13)
_SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32V: "<f",
               BOOL: "<?", U64: "<Q", I64: "<q", F64V: "<d"}

# ggml type ids and (block size, bytes per block) (gguf.md §3)
GGML = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "q2_k": 10,
        "q3_k": 11, "q4_k": 12, "q5_k": 13, "q6_k": 14, "bf16": 30}
BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
         10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 30: (1, 2)}
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7, "q4_k": 15, "q6_k": 18, "bf16": 32}


def _gguf_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value_bytes(vtype, v):
    if vtype == STRING:
        return _gguf_str(v)
    return struct.pack(_SCALAR_FMT[vtype], v)


class GGUFWriter:
    def __init__(self, version=3, alignment=None):
        self.version = version
        self.alignment = 32 if alignment is None else alignment
        self.kvs = []        # (key, raw bytes of type + value)
        self.tensors = []    # (name, ne list, ggml type, bytes)
        if alignment is not None:
            self.add_u32("general.alignment", alignment)

    def add(self, key, vtype, value):
        self.kvs.append((key, struct.pack("<I", vtype) + _value_bytes(vtype, value)))

    def add_u32(self, key, v): self.add(key, U32, int(v))
    def add_i32(self, key, v): self.add(key, I32, int(v))
    def add_f32(self, key, v): self.add(key, F32V, float(v))
    def add_bool(self, key, v): self.add(key, BOOL, bool(v))
    def add_str(self, key, v): self.add(key, STRING, v)

    def add_array(self, key, etype, values):
        body = struct.pack("<IIQ", ARRAY, etype, len(values))
        if etype == STRING:
            body += b"".join(_gguf_str(v) for v in values)
        else:
            body += np.asarray(values, dtype=np.dtype(_SCALAR_FMT[etype])).tobytes()
        self.kvs.append((key, body))

    def add_tensor(self, name, arr, ggml_type=0):
        """arr: row-major float array (shape reversed into ggml ne); rows along the last axis."""
        arr = np.asarray(arr, dtype=np.float32)
        data = quantize(arr, ggml_type)
        self.add_raw_tensor(name, list(arr.shape[::-1]), ggml_type, data)

    def add_raw_tensor(self, name, ne, ggml_type, data):
        self.tensors.append((name, list(ne), ggml_type, bytes(data)))

    def to_bytes(self):
        out = bytearray(b"GGUF" + struct.pack("<IQQ", self.version, len(self.tensors), len(self.kvs)))
        for key, body in self.kvs:
            out += _gguf_str(key) + body
        offset, offsets = 0, []
        for name, ne, t, data in self.tensors:
            offsets.append(offset)
            offset += _align(len(data), self.alignment)
        for (name, ne, t, data), off in zip(self.tensors, offsets):
            out += _gguf_str(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
            out += struct.pack("<IQ", t, off)
        out += b"\0" * (_align(len(out), self.alignment) - len(out))
        for name, ne, t, data in self.tensors:
            out += data + b"\0" * (_align(len(data), self.alignment) - len(data))
        return bytes(out)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())


def _align(n, a):
    return (n + a - 1) // a * a


# ---------------------------------------------------------------- quantisers

def _f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def _round_away(x):
    """C roundf: round half away from zero."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def _blocks(arr, bs):
    a = np.ascontiguousarray(arr, dtype=np.float32)
    if a.shape[-1] % bs:
        raise ValueError("row length %d is not a multiple of the block size %d" % (a.shape[-1], bs))
    return a.reshape(-1, bs)


def quantize_q8_0(arr):
    x = _blocks(arr, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = _round_away((x * idv[:, None]).astype(np.float32)).astype(np.int8)
    out = np.zeros((x.shape[0], 34), np.uint8)
    out[:, 0:2] = _f16(d).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def quantize_q4_0(arr):
    x = _blocks(arr, 32)
    idx = np.abs(x).argmax(axis=1)              # first maximum on ties, like ggml's loop with '>'
    m = x[np.arange(x.shape[0]), idx]
    d = (m / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (x * idv[:, None] + np.float32(8.5)).astype(np.float32)
    q = np.minimum(15, np.trunc(v).astype(np.int32)).astype(np.uint8)
    out = np.zeros((x.shape[0], 18), np.uint8)
    out[:, 0:2] = _f16(d).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def quantize_q6_k(arr):
    """Per 16 weights a signed scale sc (int8) times the fp16 super scale d; q in [-32, 31]."""
    x = _blocks(arr, 256)
    nb = x.shape[0]
    sub = x.reshape(nb, 16, 16)
    s = np.abs(sub).max(axis=2) / np.float32(31)          # float sub-scale per 16
    d = (s.max(axis=1) / np.float32(127)).astype(np.float32)
    d16 = _f16(d)
    df = d16.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(df[:, None] != 0, np.ceil(s / df[:, None]), 0)
    sc = np.clip(sc, 0, 127).astype(np.int8)
    eff = (df[:, None] * sc.astype(np.float32)).astype(np.float32)     # d * sc, as dequantisation does
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(eff[:, :, None] != 0, _round_away(sub / eff[:, :, None]), 0)
    q = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(nb, 2, 128)
    ql = np.zeros((nb, 2, 64), np.uint8)
    qh = np.zeros((nb, 2, 32), np.uint8)
    l = np.arange(32)
    ql[:, :, l] = q[:, :, l] & 0xF
    ql[:, :, l + 32] = q[:, :, l + 32] & 0xF
    ql[:, :, l] |= (q[:, :, l + 64] & 0xF) << 4
    ql[:, :, l + 32] |= (q[:, :, l + 96] & 0xF) << 4
    qh[:, :, l] = ((q[:, :, l] >> 4) | ((q[:, :, l + 32] >> 4) << 2) | ((q[:, :, l + 64] >> 4) << 4)
                   | ((q[:, :, l + 96] >> 4) << 6))
    out = np.zeros((nb, 210), np.uint8)
    out[:, 0:128] = ql.reshape(nb, 128)
    out[:, 128:192] = qh.reshape(nb, 64)
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:210] = d16.view(np.uint8).reshape(-1, 2)
    return out.tobytes()


def quantize_q4_k(arr):
    """8 sub-blocks of 32: y = (d*sc)*q - (dmin*m) with 6-bit sc, m and 4-bit q."""
    x = _blocks(arr, 256)
    nb = x.shape[0]
    sub = x.reshape(nb, 8, 32)
    lo = np.minimum(sub.min(axis=2), 0).astype(np.float32)      # min <= 0 so the subtracted min m >= 0
    scale = ((sub.max(axis=2) - lo) / np.float32(15)).astype(np.float32)
    d = _f16(scale.max(axis=1) / np.float32(63)).astype(np.float32)
    dmin = _f16((-lo).max(axis=1) / np.float32(63)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(d[:, None] != 0, np.ceil(scale / d[:, None]), 0)
        mm = np.where(dmin[:, None] != 0, np.ceil(-lo / dmin[:, None]), 0)
    sc = np.clip(sc, 0, 63).astype(np.uint8)
    mm = np.clip(mm, 0, 63).astype(np.uint8)
    eff_d = (d[:, None] * sc.astype(np.float32)).astype(np.float32)
    eff_m = (dmin[:, None] * mm.astype(np.float32)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(eff_d[:, :, None] != 0, _round_away((sub + eff_m[:, :, None]) / eff_d[:, :, None]), 0)
    q = np.clip(q, 0, 15).astype(np.uint8)
    scales = np.zeros((nb, 12), np.uint8)
    for j in range(4):
        scales[:, j] = sc[:, j] | ((sc[:, j + 4] >> 4) << 6)
        scales[:, j + 4] = mm[:, j] | ((mm[:, j + 4] >> 4) << 6)
        scales[:, j + 8] = (sc[:, j + 4] & 0xF) | ((mm[:, j + 4] & 0xF) << 4)
    qs = np.zeros((nb, 4, 32), np.uint8)
    for c in range(4):
        qs[:, c] = q[:, 2 * c] | (q[:, 2 * c + 1] << 4)
    out = np.zeros((nb, 144), np.uint8)
    out[:, 0:2] = _f16(d).view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = _f16(dmin).view(np.uint8).reshape(-1, 2)
    out[:, 4:16] = scales
    out[:, 16:] = qs.reshape(nb, 128)
    return out.tobytes()


def quantize(arr, ggml_type):
    arr = np.asarray(arr, dtype=np.float32)
    if ggml_type == 0:
        return arr.astype("<f4").tobytes()
    if ggml_type == 1:
        return arr.astype("<f2").tobytes()
    if ggml_type == 30:
        u = arr.astype("<f4").view(np.uint32).astype(np.uint64)
        r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)   # round to nearest even
        return r.astype("<u2").tobytes()
    fn = {2: quantize_q4_0, 8: quantize_q8_0, 12: quantize_q4_k, 14: quantize_q6_k}.get(ggml_type)
    if not fn:
        raise ValueError("no quantiser for ggml type %d" % ggml_type)
    return fn(arr)


def fit_type(ggml_type, ncols):
    """The type a row of ncols weights can be stored in (falls back like llama-quantize)."""
    bs = BLOCK[ggml_type][0]
    if ncols % bs == 0:
        return ggml_type
    if ncols % 32 == 0 and ggml_type not in (0, 1, 30):
        return GGML["q8_0"]
    return GGML["f16"]


# ---------------------------------------------------------------- tokenizers

_SPM_WORDS = ["the", "and", "once", "upon", "time", "there", "was", "little", "girl", "boy", "she", "he",
              "said", "happy", "day", "play", "with", "her", "his", "big", "dog", "cat", "sun", "tree"]
_LETTERS = "abcdefghijklmnopqrstuvwxyzOTS.,!'"


def spm_vocab(n_vocab):
    """SentencePiece-style vocab: <unk> <s> </s>, 256 byte tokens, then pieces with prefixes
    (every intermediate merge result is itself a token, so words are reachable)."""
    tokens, types = ["<unk>", "<s>", "</s>"], [2, 3, 3]
    tokens += ["<0x%02X>" % b for b in range(256)]
    types += [6] * 256
    pieces = ["\u2581"] + list(_LETTERS)
    for w in _SPM_WORDS:
        for cand in ["\u2581" + w] + [w]:
            for k in range(2, len(cand) + 1):
                pieces.append(cand[:k])
    seen, ordered = set(tokens), []
    for p in pieces:
        if p not in seen:
            seen.add(p)
            ordered.append(p)
    room = n_vocab - len(tokens)
    if room < 0:
        raise ValueError("SPM vocab needs at least 259 tokens")
    ordered = ordered[:room]
    while len(ordered) < room:
        ordered.append("\u2581x%d" % len(ordered))
    tokens += ordered
    types += [1] * len(ordered)
    # single characters low, longer pieces preferred (higher score merges first)
    scores = [0.0] * 259 + [float(-1000 + len(p) * 10 - i * 0.001) if len(p) > 1 else -1000.0 - i
                            for i, p in enumerate(ordered)]
    return tokens, scores, types


def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def gpt2_vocab(n_vocab):
    """GPT-2 byte-level BPE vocab: 256 byte symbols, merged pieces with their merge rules, and the
    Qwen2-style specials at the end. Returns tokens, token_types, merges, eos id."""
    b2u = _bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    room = n_vocab - len(tokens) - len(specials)
    if room < 0:
        raise ValueError("gpt2 vocab needs at least 259 tokens")
    merges, seen = [], set(tokens)
    for w in _SPM_WORDS:
        sym = [b2u[ord(" ")]] + list(w)
        cur = sym[0]
        for s in sym[1:]:
            if len(merges) >= room:
                break
            new = cur + s
            if new not in seen:
                merges.append(cur + " " + s)
                seen.add(new)
                tokens.append(new)
            cur = new
    while len(tokens) < 256 + room:
        tokens.append("x%d" % len(tokens))     # filler pieces (not reachable by merges)
    types = [1] * len(tokens) + [3] * len(specials)
    tokens += specials
    return tokens, types, merges, 256 + room


# ---------------------------------------------------------------- models

def write_model(path, arch="llama", wtype="f32", layers=2, dim=64, heads=4, kv_heads=2, ff=128, vocab=300,
                seed=1, tied=False, ctx=256, version=3):
    if arch not in ("llama", "qwen2"):
        raise ValueError("arch must be llama or qwen2")
    if dim % heads or heads % kv_heads:
        raise ValueError("dim must divide by heads and heads by kv-heads")
    rng = np.random.default_rng(seed)
    t = GGML[wtype]
    hd = dim // heads
    w = GGUFWriter(version=version)
    w.add_str("general.architecture", arch)
    w.add_str("general.name", "synthetic-%s-%s-seed%d" % (arch, wtype, seed))
    w.add_u32("general.file_type", FILE_TYPE.get(wtype, 0))
    if t not in (0, 1, 30):
        w.add_u32("general.quantization_version", 2)
    w.add_u32(arch + ".context_length", ctx)
    w.add_u32(arch + ".embedding_length", dim)
    w.add_u32(arch + ".block_count", layers)
    w.add_u32(arch + ".feed_forward_length", ff)
    w.add_u32(arch + ".attention.head_count", heads)
    w.add_u32(arch + ".attention.head_count_kv", kv_heads)
    w.add_u32(arch + ".rope.dimension_count", hd)
    w.add_f32(arch + ".rope.freq_base", 10000.0 if arch == "llama" else 1000000.0)
    w.add_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5 if arch == "llama" else 1e-6)
    if arch == "llama":
        tokens, scores, types = spm_vocab(vocab)
        w.add_str("tokenizer.ggml.model", "llama")
        w.add_array("tokenizer.ggml.tokens", STRING, tokens)
        w.add_array("tokenizer.ggml.scores", F32V, scores)
        w.add_array("tokenizer.ggml.token_type", I32, types)
        w.add_u32("tokenizer.ggml.unknown_token_id", 0)
        w.add_u32("tokenizer.ggml.bos_token_id", 1)
        w.add_u32("tokenizer.ggml.eos_token_id", 2)
        w.add_bool("tokenizer.ggml.add_bos_token", True)
        w.add_bool("tokenizer.ggml.add_eos_token", False)
    else:
        tokens, types, merges, eos = gpt2_vocab(vocab)
        w.add_str("tokenizer.ggml.model", "gpt2")
        w.add_str("tokenizer.ggml.pre", "qwen2")
        w.add_array("tokenizer.ggml.tokens", STRING, tokens)
        w.add_array("tokenizer.ggml.token_type", I32, types)
        w.add_array("tokenizer.ggml.merges", STRING, merges)
        w.add_u32("tokenizer.ggml.eos_token_id", eos)
        w.add_u32("tokenizer.ggml.bos_token_id", eos)
        w.add_u32("tokenizer.ggml.padding_token_id", eos)
        w.add_bool("tokenizer.ggml.add_bos_token", False)

    def mat(n_out, n_in):
        return (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)

    def vec(n, base, s):
        return (base + s * rng.standard_normal(n)).astype(np.float32)

    def weight(name, a):
        w.add_tensor(name, a, fit_type(t, a.shape[-1]))

    weight("token_embd.weight", rng.standard_normal((vocab, dim)).astype(np.float32) * np.float32(0.5))
    for i in range(layers):
        p = "blk.%d." % i
        w.add_tensor(p + "attn_norm.weight", vec(dim, 1.0, 0.1))
        weight(p + "attn_q.weight", mat(heads * hd, dim))
        weight(p + "attn_k.weight", mat(kv_heads * hd, dim))
        weight(p + "attn_v.weight", mat(kv_heads * hd, dim))
        if arch == "qwen2":
            w.add_tensor(p + "attn_q.bias", vec(heads * hd, 0.0, 0.1))
            w.add_tensor(p + "attn_k.bias", vec(kv_heads * hd, 0.0, 0.1))
            w.add_tensor(p + "attn_v.bias", vec(kv_heads * hd, 0.0, 0.1))
        weight(p + "attn_output.weight", mat(dim, heads * hd))
        w.add_tensor(p + "ffn_norm.weight", vec(dim, 1.0, 0.1))
        weight(p + "ffn_gate.weight", mat(ff, dim))
        weight(p + "ffn_up.weight", mat(ff, dim))
        weight(p + "ffn_down.weight", mat(dim, ff))
    w.add_tensor("output_norm.weight", vec(dim, 1.0, 0.1))
    if not tied:
        weight("output.weight", mat(vocab, dim))
    w.write(path)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--arch", default="llama", choices=["llama", "qwen2"])
    ap.add_argument("--type", default="f32", choices=["f32", "f16", "bf16", "q8_0", "q4_0", "q6_k", "q4_k"])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ff", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=300)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--version", type=int, default=3, choices=[2, 3])
    ap.add_argument("--tied", action="store_true", help="no output.weight (LM head tied to token_embd)")
    a = ap.parse_args(argv)
    write_model(a.out, a.arch, a.type, a.layers, a.dim, a.heads, a.kv_heads, a.ff, a.vocab, a.seed, a.tied,
                a.ctx, a.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
