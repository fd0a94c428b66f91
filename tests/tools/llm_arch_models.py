#!/usr/bin/python3
"""Random float32 phi3 and gemma GGUFs (gguf.md §9) for the LLM test:
    llm_arch_models.py OUT.gguf --arch phi3|gemma [--seed S]
phi3: fused attn_qkv [Q; K; V] and fused ffn_up [gate; up]; gemma: head_dim from
attention.key_length (H*hd != n_embd), no output.weight (tied head).
Uses gguf_writer.py's writer and SentencePiece test vocabulary."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402


def write(path, arch, seed=1, layers=2, dim=64, heads=4, kv_heads=2, ff=96, vocab=300, ctx=256):
    rng = np.random.default_rng(seed)
    hd = 24 if arch == "gemma" else dim // heads
    w = gw.GGUFWriter()
    w.add_str("general.architecture", arch)
    w.add_str("general.name", "synthetic-%s" % arch)
    w.add_u32(arch + ".context_length", ctx)
    w.add_u32(arch + ".embedding_length", dim)
    w.add_u32(arch + ".block_count", layers)
    w.add_u32(arch + ".feed_forward_length", ff)
    w.add_u32(arch + ".attention.head_count", heads)
    w.add_u32(arch + ".attention.head_count_kv", kv_heads)
    w.add_u32(arch + ".rope.dimension_count", hd)
    w.add_f32(arch + ".rope.freq_base", 10000.0)
    w.add_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-6)
    if arch == "gemma":
        w.add_u32(arch + ".attention.key_length", hd)
        w.add_u32(arch + ".attention.value_length", hd)
    tokens, scores, types = gw.spm_vocab(vocab)
    if arch == "phi3":  # llama.cpp looks these phi3 specials up by text
        specials = ["<|endoftext|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
        for k, t in enumerate(specials):
            i = vocab - len(specials) + k
            tokens[i], scores[i], types[i] = t, 0.0, 3
    w.add_str("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", gw.STRING, tokens)
    w.add_array("tokenizer.ggml.scores", gw.F32V, scores)
    w.add_array("tokenizer.ggml.token_type", gw.I32, types)
    w.add_u32("tokenizer.ggml.unknown_token_id", 0)
    w.add_u32("tokenizer.ggml.bos_token_id", 1)
    w.add_u32("tokenizer.ggml.eos_token_id", 2)

    def mat(n_out, n_in):
        return (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)

    def vec(n, base, s):
        return (base + s * rng.standard_normal(n)).astype(np.float32)

    w.add_tensor("token_embd.weight", (rng.standard_normal((vocab, dim)) * 0.5).astype(np.float32))
    for i in range(layers):
        p = "blk.%d." % i
        w.add_tensor(p + "attn_norm.weight", vec(dim, 1.0, 0.1))
        if arch == "phi3":
            w.add_tensor(p + "attn_qkv.weight", mat((heads + 2 * kv_heads) * hd, dim))
        else:
            w.add_tensor(p + "attn_q.weight", mat(heads * hd, dim))
            w.add_tensor(p + "attn_k.weight", mat(kv_heads * hd, dim))
            w.add_tensor(p + "attn_v.weight", mat(kv_heads * hd, dim))
        w.add_tensor(p + "attn_output.weight", mat(dim, heads * hd))
        w.add_tensor(p + "ffn_norm.weight", vec(dim, 1.0, 0.1))
        if arch == "phi3":
            w.add_tensor(p + "ffn_up.weight", mat(2 * ff, dim))
        else:
            w.add_tensor(p + "ffn_gate.weight", mat(ff, dim))
            w.add_tensor(p + "ffn_up.weight", mat(ff, dim))
        w.add_tensor(p + "ffn_down.weight", mat(dim, ff))
    w.add_tensor("output_norm.weight", vec(dim, 1.0, 0.1))
    if arch == "phi3":
        w.add_tensor("output.weight", mat(vocab, dim))
    w.write(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--arch", required=True, choices=["phi3", "gemma"])
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    write(a.out, a.arch, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
