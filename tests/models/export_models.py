#!/usr/bin/python3
"""Export the end-to-end test models of modelexport to ONNX.

Usage:
    export_models.py OUTDIR [--only NAME ...] [--torch-outputs] [--trained]

For every model NAME this writes
    OUTDIR/NAME.onnx          the model (opset 17, static shapes, random weights)
    OUTDIR/NAME.in<k>.raw     deterministic random input sample k (k = 0..SAMPLES-1),
                              headerless little-endian, in the ONNX input dtype/layout
    OUTDIR/NAME.inputs.txt    QNN input_list: one line per sample, `name:=/abs/path`
and with --torch-outputs also
    OUTDIR/NAME.torch/Result_<k>/<output>.raw
                              PyTorch's own outputs, laid out like `modelexport run`
                              writes them (a third reference next to ONNX Runtime).

Everything is seeded, so two runs produce byte-identical inputs and weights.

With --trained the models are first trained for a few hundred steps on a
synthetic task (synthetic_tasks.py) and the inputs come from that task's
distribution: the quantisation acceptance test uses these, because the
accuracy of quantisation is a property of trained networks.

BatchNorm layers are given non-trivial statistics (see `calibrate_batchnorm`) so
that BN folding in the compiler is really exercised. Every exported graph is
checked against the op list the compiler supports; an op outside it makes the
script exit 1.

The default set is resnet18, mobilenet_v2, vit_small, gpt_small, bert_small;
resnet50 (full 224x224, ~100 MB, used by the memory test) is only exported when
named with --only.

Needs Debian's python3-torch, python3-torchvision, python3-onnx, python3-numpy.
"""

import argparse
import collections
import os
import sys
import time
import warnings
import zlib

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OPSET = 17          # the newest opset Debian's torch 1.13 / onnx 1.12 can export
SAMPLES = 2         # input samples per model

# The ONNX ops the compiler supports (domain "" / "ai.onnx" only).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from core_ops import SUPPORTED_OPS  # noqa: E402
import synthetic_tasks  # noqa: E402  (same folder)


# --------------------------------------------------------------------------
# Helpers shared by all models
# --------------------------------------------------------------------------

@torch.no_grad()
def randomize_constant_params(model, seed):
    """Replace every parameter whose elements are all equal with random values.

    Default initialisations leave LayerNorm weight=1/bias=0, many biases 0 and
    e.g. torchvision's ViT head all zeros (its logits would be constant!).
    Such tensors test nothing, and the exporter even de-duplicates identical
    ones. BatchNorm is left to `calibrate_batchnorm`.
    """
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            continue
        for pname, p in module.named_parameters(recurse=False):
            if p.numel() == 0 or not bool((p == p.reshape(-1)[0]).all()):
                continue
            if pname == "weight" and p.dim() == 1:          # norm-layer scale
                p.uniform_(0.5, 1.5, generator=gen)
            elif p.dim() == 1:                              # biases
                p.uniform_(-0.2, 0.2, generator=gen)
            else:                                           # matrices, tokens
                fan_in = p.shape[-1] if p.dim() >= 2 else 1
                p.normal_(0.0, fan_in ** -0.5, generator=gen)


@torch.no_grad()
def calibrate_batchnorm(model, example_shape, seed, batches=4, batch_size=4):
    """Give every BatchNorm realistic but non-trivial parameters.

    Freshly constructed BN layers have mean 0, var 1, weight 1, bias 0, which
    makes BN folding a no-op and hides bugs. Purely random statistics, on the
    other hand, let activations explode through 50 layers of a ResNet. So:
    the running statistics are measured on random data (train mode, cumulative
    average), which makes them non-trivial per channel while keeping the
    activations well scaled; then the affine weight/bias are randomised.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    gen = torch.Generator().manual_seed(seed)
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None              # cumulative moving average over all batches
    model.train()
    for _ in range(batches):
        model(torch.randn((batch_size,) + tuple(example_shape[1:]), generator=gen))
    for bn in bns:
        bn.weight.uniform_(0.5, 1.5, generator=gen)
        bn.bias.uniform_(-0.25, 0.25, generator=gen)
    model.eval()


def op_histogram(graph, hist=None):
    """Count (domain, op_type) over a graph, descending into subgraphs (If, Loop...)."""
    if hist is None:
        hist = collections.Counter()
    for node in graph.node:
        hist[(node.domain if node.domain != "ai.onnx" else "", node.op_type)] += 1
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                op_histogram(attr.g, hist)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    op_histogram(g, hist)
    return hist


SAFE_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def sanitize(name):
    """Output-file name rule shared with `modelexport run` and ort_run.js:
    every byte of the UTF-8 name outside [A-Za-z0-9._-] becomes '_'."""
    return "".join(chr(b) if b in SAFE_CHARS else "_" for b in name.encode("utf-8"))


# --------------------------------------------------------------------------
# metadata_props on NodeProto (hierarchy tags)
#
# NodeProto.metadata_props (field 9, repeated StringStringEntryProto) appeared
# in onnx 1.16 / IR 10. Debian's onnx 1.12 does not know the field, so it is
# written here directly in protobuf wire format and kept by the protobuf
# runtime as an unknown field: the serialized model is exactly what a newer
# onnx would write, and readers that know field 9 (ONNX Runtime, modelexport)
# see it.
# --------------------------------------------------------------------------

NODE_METADATA_FIELD = 9


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _len_field(field, payload):
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def add_node_metadata(node, key, value):
    """Append one metadata_props entry {key: value} to an onnx NodeProto."""
    if "metadata_props" in node.DESCRIPTOR.fields_by_name:     # onnx >= 1.16
        entry = node.metadata_props.add()
        entry.key, entry.value = key, value
        return
    entry = _len_field(1, key.encode()) + _len_field(2, value.encode())
    node.MergeFromString(_len_field(NODE_METADATA_FIELD, entry))


def _read_varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def _iter_fields(buf):
    """Yield (field number, wire type, value) of a serialized message; value is
    an int for varint/fixed fields and bytes for length-delimited ones."""
    pos = 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, value


def read_node_metadata(node):
    """Return the metadata_props of a NodeProto as a dict (any onnx version)."""
    if "metadata_props" in node.DESCRIPTOR.fields_by_name:
        return {e.key: e.value for e in node.metadata_props}
    props = {}
    for field, wire, value in _iter_fields(node.SerializeToString()):
        if field == NODE_METADATA_FIELD and wire == 2:
            kv = {f: v.decode() for f, w, v in _iter_fields(value) if w == 2}
            props[kv.get(1, "")] = kv.get(2, "")
    return props


def module_hierarchy_tag(root, scope_path):
    """Map a torch module path ("encoder.layer.0.attention.self") to the
    class-name hierarchy tag ("/BertModel/BertEncoder/BertLayer.0/BertAttention/
    BertSelfAttention"). Containers (ModuleList/Sequential/ModuleDict) do not
    form a level of their own; their children get the class name suffixed with
    their key (".0"). Returns None if the path does not name a module."""
    parts = ["/" + type(root).__name__]
    module = root
    container = False
    for name in [p for p in scope_path.split(".") if p]:
        children = dict(module.named_children())
        if name not in children:
            return None
        module = children[name]
        if isinstance(module, (nn.ModuleList, nn.Sequential, nn.ModuleDict)):
            container = True
            continue
        parts.append("/" + type(module).__name__ + ("." + name if container else ""))
        container = False
    return "".join(parts)


def tag_hierarchy(model_proto, torch_model):
    """Give every ONNX node that belongs to a torch module the metadata entry
    hierarchy_tag = its module's class-name path.

    torch.onnx.export names nodes "/encoder/layer.0/attention/self/MatMul":
    the scope segments (joined with ".") are the module's named_modules() path
    and the last segment is the op. Nodes outside any submodule ("/Add") belong
    to the root module. Returns (tagged, untagged names)."""
    tagged, untagged = 0, []
    for node in model_proto.graph.node:
        tag = None
        if node.name.startswith("/"):
            scope = ".".join(node.name.split("/")[1:-1])
            tag = module_hierarchy_tag(torch_model, scope)
        if tag is None:
            untagged.append(node.name)
            continue
        add_node_metadata(node, "hierarchy_tag", tag)
        tagged += 1
    return tagged, untagged


# --------------------------------------------------------------------------
# gpt_small: a GPT-2 style decoder in plain torch
# --------------------------------------------------------------------------

class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads, ctx):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        # Lower-triangular 0/1 mask, sliced to the sequence length at run time.
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)).view(1, 1, ctx, ctx))

    def forward(self, x):
        b, t, c = x.shape
        h = self.heads
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, t, h, c // h).transpose(1, 2)            # b h t d
        k = k.view(b, t, h, c // h).transpose(1, 2)
        v = v.view(b, t, h, c // h).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / self.head_dim ** 0.5)
        att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, c)
        return self.proj(y)


class GPTBlock(nn.Module):
    def __init__(self, dim, heads, ctx):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, ctx)
        self.ln2 = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.fc_out = nn.Linear(4 * dim, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc_out(self.act(self.fc(self.ln2(x))))


class GPTSmall(nn.Module):
    def __init__(self, vocab=256, ctx=16, dim=64, heads=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(ctx, dim)
        self.blocks = nn.ModuleList([GPTBlock(dim, heads, ctx) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        pos = torch.arange(t, dtype=torch.long, device=idx.device).unsqueeze(0)
        x = self.tok(idx) + self.pos(pos)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


# --------------------------------------------------------------------------
# bert_small: a BERT style encoder in plain torch (HF BERT module structure)
# --------------------------------------------------------------------------

class BertEmbeddings(nn.Module):
    def __init__(self, vocab, ctx, dim):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(ctx, dim)
        self.token_type_embeddings = nn.Embedding(2, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, input_ids):
        t = input_ids.shape[1]
        pos = torch.arange(t, dtype=torch.long).unsqueeze(0)
        types = torch.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(pos)
             + self.token_type_embeddings(types))
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(0.1)

    def split_heads(self, x):
        b, t, c = x.shape
        return x.view(b, t, self.heads, c // self.heads).permute(0, 2, 1, 3)

    def forward(self, x):
        b, t, c = x.shape
        q = self.split_heads(self.query(x))
        k = self.split_heads(self.key(x))
        v = self.split_heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / self.head_dim ** 0.5
        probs = self.dropout(F.softmax(scores, dim=-1))
        return torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, t, c)


class BertSelfOutput(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class BertAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.self = BertSelfAttention(dim, heads)
        self.output = BertSelfOutput(dim)

    def forward(self, x):
        return self.output(self.self(x), x)


class BertIntermediate(nn.Module):
    def __init__(self, dim, ffn):
        super().__init__()
        self.dense = nn.Linear(dim, ffn)
        self.intermediate_act_fn = nn.GELU()

    def forward(self, x):
        return self.intermediate_act_fn(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, dim, ffn):
        super().__init__()
        self.dense = nn.Linear(ffn, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class BertLayer(nn.Module):
    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.attention = BertAttention(dim, heads)
        self.intermediate = BertIntermediate(dim, ffn)
        self.output = BertOutput(dim, ffn)

    def forward(self, x):
        a = self.attention(x)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, dim, heads, ffn, layers):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(dim, heads, ffn) for _ in range(layers)])

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class BertPooler(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.activation = nn.Tanh()

    def forward(self, x):
        return self.activation(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, vocab=512, ctx=16, dim=64, heads=2, ffn=128, layers=2):
        super().__init__()
        self.embeddings = BertEmbeddings(vocab, ctx, dim)
        self.encoder = BertEncoder(dim, heads, ffn, layers)
        self.pooler = BertPooler(dim)

    def forward(self, input_ids):
        seq = self.encoder(self.embeddings(input_ids))
        return seq, self.pooler(seq)


# --------------------------------------------------------------------------
# Model table
# --------------------------------------------------------------------------

def image_input(shape):
    return {"name": "input", "shape": shape, "dtype": np.float32}


def token_input(name, shape, vocab):
    return {"name": name, "shape": shape, "dtype": np.int64, "high": vocab}


# Each entry: build() -> torch module; inputs: list of input specs; outputs:
# ONNX output names; default: exported without --only; tag: add hierarchy tags.
# resnet18/mobilenet_v2 use 64x64 images to keep tests fast; the architecture
# (and so every op and layer) is the torchvision one.
MODELS = {
    "resnet18": dict(
        build=lambda: torchvision.models.resnet18(weights=None),
        inputs=[image_input((1, 3, 64, 64))], outputs=["logits"], default=True),
    "mobilenet_v2": dict(
        build=lambda: torchvision.models.mobilenet_v2(weights=None),
        inputs=[image_input((1, 3, 64, 64))], outputs=["logits"], default=True),
    "vit_small": dict(
        build=lambda: torchvision.models.VisionTransformer(
            image_size=32, patch_size=8, num_layers=2, num_heads=2,
            hidden_dim=64, mlp_dim=128, num_classes=10),
        inputs=[image_input((1, 3, 32, 32))], outputs=["logits"], default=True),
    "gpt_small": dict(
        build=lambda: GPTSmall(),
        inputs=[token_input("input_ids", (1, 16), 256)], outputs=["logits"], default=True),
    "bert_small": dict(
        build=lambda: BertModel(),
        inputs=[token_input("input_ids", (1, 16), 512)],
        outputs=["last_hidden_state", "pooler_output"], default=True, tag=True),
    "resnet50": dict(
        build=lambda: torchvision.models.resnet50(weights=None),
        inputs=[image_input((1, 3, 224, 224))], outputs=["logits"], default=False),
    # for the benchmarks (make bench): SiLU, depthwise convs, squeeze-excitation
    "efficientnet_b0": dict(
        build=lambda: torchvision.models.efficientnet_b0(weights=None),
        inputs=[image_input((1, 3, 224, 224))], outputs=["logits"], default=False),
}


def make_input(spec, rng):
    if spec["dtype"] == np.int64:
        return rng.integers(0, spec["high"], size=spec["shape"], dtype=np.int64)
    return rng.standard_normal(spec["shape"], dtype=np.float32)


def export(name, outdir, torch_outputs, trained=False):
    """Export one model and its inputs; return (op histogram, ModelProto)."""
    spec = MODELS[name]
    seed = zlib.crc32(name.encode())      # stable per model, whatever the table holds
    torch.manual_seed(seed)
    model = spec["build"]().eval()
    randomize_constant_params(model, seed)
    if any(s["dtype"] == np.float32 for s in spec["inputs"]):
        calibrate_batchnorm(model, spec["inputs"][0]["shape"], seed)

    rng = np.random.default_rng(seed)
    if trained:
        if len(spec["inputs"]) != 1:
            raise RuntimeError("%s: --trained needs a model with one input" % name)
        loss = synthetic_tasks.train(model, spec["inputs"][0], seed)
        print("  %s: trained on its synthetic task, final loss %.3f" % (name, loss))
        samples = [[synthetic_tasks.task_sample(spec["inputs"][0], seed + k)] for k in range(SAMPLES)]
    else:
        samples = [[make_input(s, rng) for s in spec["inputs"]] for _ in range(SAMPLES)]

    path = os.path.join(outdir, name + ".onnx")
    example = tuple(torch.from_numpy(a) for a in samples[0])
    # Not under no_grad: with gradients enabled nn.MultiheadAttention (ViT)
    # avoids its fused fast path, which has no ONNX export.
    # TrainingMode.PRESERVE (the model is in eval mode) keeps BatchNormalization
    # nodes; the default EVAL mode would fuse them into the Convs in the
    # exporter and leave nothing for the compiler's BN folding to do.
    torch.onnx.export(model, example, path, opset_version=OPSET,
                      input_names=[s["name"] for s in spec["inputs"]],
                      output_names=spec["outputs"], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE)

    proto = onnx.load(path)
    if spec.get("tag"):
        tagged, untagged = tag_hierarchy(proto, model)
        if tagged == 0:
            raise RuntimeError("%s: no node could be mapped to a module" % name)
        for node_name in untagged:
            print("  note: %s: node %r has no module scope, left untagged" % (name, node_name))
        onnx.save(proto, path)
        proto = onnx.load(path)
        check = sum(1 for n in proto.graph.node if "hierarchy_tag" in read_node_metadata(n))
        if check != tagged:
            raise RuntimeError("%s: %d hierarchy tags written, %d read back" % (name, tagged, check))
    onnx.checker.check_model(proto)

    # Inputs and the QNN input list (one line per sample, absolute paths).
    lines = []
    for k, arrays in enumerate(samples):
        entries = []
        for s, a in zip(spec["inputs"], arrays):
            suffix = "" if len(arrays) == 1 else "." + sanitize(s["name"])
            raw = os.path.abspath(os.path.join(outdir, "%s.in%d%s.raw" % (name, k, suffix)))
            with open(raw, "wb") as f:
                f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
            entries.append("%s:=%s" % (s["name"], raw))
        lines.append(" ".join(entries))
    with open(os.path.join(outdir, name + ".inputs.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    if torch_outputs:
        with torch.no_grad():
            for k, arrays in enumerate(samples):
                outs = model(*[torch.from_numpy(a) for a in arrays])
                outs = outs if isinstance(outs, (tuple, list)) else (outs,)
                rdir = os.path.join(outdir, name + ".torch", "Result_%d" % k)
                os.makedirs(rdir, exist_ok=True)
                for oname, t in zip(spec["outputs"], outs):
                    with open(os.path.join(rdir, sanitize(oname) + ".raw"), "wb") as f:
                        f.write(t.numpy().tobytes())
    return op_histogram(proto.graph), proto


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(MODELS),
                    help="export just these models (resnet50 is only exported this way)")
    ap.add_argument("--torch-outputs", action="store_true",
                    help="also write PyTorch's outputs to OUTDIR/NAME.torch/Result_<k>/")
    ap.add_argument("--trained", action="store_true",
                    help="train each model on its synthetic task first (synthetic_tasks.py)")
    args = ap.parse_args()

    names = args.only or [n for n, s in MODELS.items() if s["default"]]
    os.makedirs(args.outdir, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    # Tracing chatter (torchvision's shape asserts) and the constant-folding
    # advice for training-mode exports, which does not apply: models are in
    # eval mode, PRESERVE only keeps BatchNormalization nodes.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message=".*constant folding be turned off.*")
    print("torch %s, torchvision %s, onnx %s, opset %d"
          % (torch.__version__, torchvision.__version__, onnx.__version__, OPSET))

    bad = False
    for name in names:
        t0 = time.time()
        hist, proto = export(name, args.outdir, args.torch_outputs, args.trained)
        size = os.path.getsize(os.path.join(args.outdir, name + ".onnx"))
        print("%s: %d nodes, %.1f MB, %.1f s" % (name, sum(hist.values()), size / 1e6,
                                                   time.time() - t0))
        for (domain, op), n in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])):
            ok = domain == "" and op in SUPPORTED_OPS
            print("  %-28s %5d%s" % ((domain + "::" if domain else "") + op, n,
                                     "" if ok else "   <-- UNSUPPORTED"))
            bad |= not ok
    if bad:
        print("error: some model uses an op outside the supported list", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
