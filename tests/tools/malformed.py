#!/usr/bin/python3
"""Feed malformed models, artifacts and input lists to modelexport.

Usage:
    malformed.py --modelexport build/modelexport [--dir DIR] [--keep]
                 [--wrapper 'valgrind -q --error-exitcode=99'] [--timeout 30] [--jobs 2]

Generates a few hundred broken inputs into DIR (default: a temporary folder)
from a small valid model (Conv + Relu + Flatten + Gemm with initializers):

  onnx  every truncation at a stride (~80), ~60 seeded single-byte flips,
        absurd/negative/overflowing dims, rank 100, bogus protobuf lengths and
        varints, a node cycle, a missing initializer, external data escaping
        the model folder, raw_data shorter/longer than its dims, bad
        attributes (zero strides, group 0...), unknown ops/opsets, an If
        nested 50,000 deep;
  dlc   the model compiled by modelexport, with ~30 single-byte flips and ~20
        truncations;
  list  broken input lists (wrong sizes, missing files, unknown names).

Every ONNX file goes through `compile-qnn`, `run` and `inspect`; every DLC
through `run` and `inspect`; every list through `run`. Each command must end
with exit status exactly 1, "modelexport: error:" on stderr and no output
left behind: no output file, no temp files in the output folder. A byte flip
may leave a valid file, so there exit 0 is also accepted, provided the output
is really there and nothing else was left in the output folder. Always a
failure: a signal (status < 0 or >= 128), any other status, a timeout
(--timeout, default 30 s), or a sanitizer report on stderr.

The valid model is first compiled, run (its output is checked against a
numpy reference) and inspected, so a binary that rejects everything fails.
The last line is `N passed, M failed`; exit status 1 on any failure.
The environment is inherited (e.g. ASAN_OPTIONS); --wrapper prefixes every
command (e.g. valgrind).
"""

import argparse
import concurrent.futures
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ERROR_PREFIX = "modelexport: error:"
SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                          r"runtime error:|MemorySanitizer|ThreadSanitizer")

# --------------------------------------------------------------------------
# The valid base model and its numpy reference
# --------------------------------------------------------------------------

X_SHAPE = (1, 3, 8, 8)


def base_weights():
    rng = np.random.default_rng(7)
    return {
        "W": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "B": rng.standard_normal(4).astype(np.float32),
        "W2": (rng.standard_normal((10, 256)) * 0.1).astype(np.float32),
        "B2": rng.standard_normal(10).astype(np.float32),
    }


def base_graph_parts(weights=None):
    """Nodes, inputs, outputs and initializers of the base model, as lists
    that the malformed variants modify."""
    w = weights or base_weights()
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], name="gemm", transB=1),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(X_SHAPE))]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])]
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    return nodes, inputs, outputs, inits


def make_model(nodes, inputs, outputs, inits, opset=17):
    graph = helper.make_graph(nodes, "small", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="malformed.py")
    model.ir_version = 8
    return model


def reference_output(x):
    """numpy forward pass of the base model (Conv pad 1 -> Relu -> Gemm)."""
    w = base_weights()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((1, 4, 8, 8), np.float64)
    for i in range(8):
        for j in range(8):
            patch = xp[0, :, i:i + 3, j:j + 3].astype(np.float64)
            conv[0, :, i, j] = np.tensordot(w["W"], patch, axes=3) + w["B"]
    flat = np.maximum(conv, 0).reshape(1, 256)
    return flat @ w["W2"].T.astype(np.float64) + w["B2"]


# --------------------------------------------------------------------------
# Protobuf wire-format helpers (for inputs the onnx library will not build)
# --------------------------------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1          # negative numbers as 10-byte two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ld(field, payload):
    """A length-delimited field."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def vi(field, value):
    """A varint field."""
    return varint(field << 3) + varint(value)


def top_level_fields(buf):
    """[(start, end)] of every top-level field in a serialized message."""
    spans, pos = [], 0
    while pos < len(buf):
        start = pos
        tag, pos = read_varint(buf, pos)
        wire = tag & 7
        if wire == 0:
            _, pos = read_varint(buf, pos)
        elif wire == 2:
            n, pos = read_varint(buf, pos)
            pos += n
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError("wire type %d" % wire)
        spans.append((start, pos))
    return spans


def read_varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


# ModelProto field numbers used below.
MODEL_IR_VERSION, MODEL_GRAPH, MODEL_OPSET = 1, 7, 8
# GraphProto: node 1, name 2, initializer 5, input 11, output 12.
GRAPH_NODE, GRAPH_NAME, GRAPH_INIT, GRAPH_INPUT, GRAPH_OUTPUT = 1, 2, 5, 11, 12
# TensorProto: dims 1, data_type 2, name 8, raw_data 9.
T_DIMS, T_TYPE, T_NAME, T_RAW = 1, 2, 8, 9


def model_with_graph_bytes(graph_bytes, opset=17):
    """Serialize a ModelProto around hand-made GraphProto bytes."""
    return (vi(MODEL_IR_VERSION, 8) + ld(MODEL_GRAPH, graph_bytes)
            + ld(MODEL_OPSET, ld(1, b"") + vi(2, opset)))


def graph_bytes_without(drop_init):
    """The base graph serialized without initializer `drop_init`."""
    nodes, inputs, outputs, inits = base_graph_parts()
    inits = [t for t in inits if t.name != drop_init]
    return make_model(nodes, inputs, outputs, inits).graph.SerializeToString()


# --------------------------------------------------------------------------
# Generating the malformed inputs
# --------------------------------------------------------------------------

class Gen:
    """Collects generated files as (name, path, kind, strict)."""

    def __init__(self, root):
        self.root = root
        self.items = []

    def add(self, name, data, kind="onnx", strict=True, folder=None):
        d = folder or os.path.join(self.root, "inputs")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name + {"onnx": ".onnx", "dlc": ".dlc", "list": ".txt"}[kind])
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.SerializeToString())
        self.items.append((name, path, kind, strict))
        return path


def variant(mutate):
    """Build the base model after mutate(nodes, inputs, outputs, inits)."""
    parts = base_graph_parts()
    model = mutate(*parts) or make_model(*parts)
    return model


def gen_onnx(gen, base):
    # 1. Truncations (~80, strided, plus the empty file). A cut exactly at a
    # top-level field boundary leaves well-formed protobuf: allowed to pass.
    boundaries = {end for _, end in top_level_fields(base)}
    stride = max(1, len(base) // 80)
    for n in list(range(0, len(base), stride)) + [len(base) - 1]:
        gen.add("trunc_%06d" % n, base[:n], strict=n not in boundaries)

    # 2. Single-byte flips (seeded). May leave a valid model: not strict.
    rng = random.Random(1234)
    for pos in sorted(rng.sample(range(len(base)), 60)):
        data = bytearray(base)
        data[pos] ^= rng.randrange(1, 256)
        gen.add("flip_%06d" % pos, bytes(data), strict=False)

    # 3. Structural damage.
    def set_input_dims(dims):
        def m(nodes, inputs, outputs, inits):
            inputs[0].CopyFrom(helper.make_tensor_value_info("x", TensorProto.FLOAT, dims))
        return m
    gen.add("dims_1e12", variant(set_input_dims([1, 3, 10 ** 12, 8])))
    gen.add("dims_all_1e12", variant(set_input_dims([10 ** 12] * 4)))
    gen.add("dims_negative", variant(set_input_dims([1, 3, -8, 8])))
    gen.add("dims_int64_min", variant(set_input_dims([1, 3, -2 ** 63, 8])))
    gen.add("dims_product_overflow", variant(set_input_dims([2 ** 32, 2 ** 32, 8, 8])))
    gen.add("rank_100", variant(set_input_dims([1] * 100)))

    def bad_initializer(name, dims, raw=None, float_data=None, dtype=TensorProto.FLOAT):
        def m(nodes, inputs, outputs, inits):
            t = next(t for t in inits if t.name == name)
            t.ClearField("dims")
            t.dims.extend(dims)
            t.data_type = dtype
            if raw is not None:
                t.raw_data = raw
            if float_data is not None:
                t.ClearField("raw_data")
                t.float_data.extend(float_data)
        return m
    w2 = base_weights()["W2"].tobytes()
    gen.add("init_raw_short", variant(bad_initializer("W2", [10, 256], raw=w2[:-4])))
    gen.add("init_raw_half", variant(bad_initializer("W2", [10, 256], raw=w2[:len(w2) // 2])))
    gen.add("init_raw_empty", variant(bad_initializer("W2", [10, 256], raw=b"")))
    gen.add("init_raw_long", variant(bad_initializer("W2", [10, 256], raw=w2 + b"\0" * 64)))
    gen.add("init_float_data_short", variant(bad_initializer("B2", [10], float_data=[1.0] * 3)))
    gen.add("init_dims_1e12", variant(bad_initializer("W2", [10 ** 12, 256], raw=w2)))
    gen.add("init_dims_negative", variant(bad_initializer("W2", [-10, -256], raw=w2)))
    # 2^62 * 4 elements * 4 bytes wraps to 0 in 64-bit arithmetic: with empty
    # data a size check that overflows would pass.
    gen.add("init_dims_wrap_to_zero", variant(bad_initializer("W2", [2 ** 62, 4], raw=b"")))
    gen.add("init_dims_wrap_bytes", variant(bad_initializer("B2", [2 ** 62], raw=b"")))
    gen.add("init_bad_dtype", variant(bad_initializer("B2", [10], raw=b"\0" * 40, dtype=999)))
    gen.add("init_undefined_dtype", variant(bad_initializer("B2", [10], raw=b"\0" * 40, dtype=0)))
    gen.add("init_wrong_shape_for_gemm", variant(bad_initializer("W2", [10, 255], raw=w2[:10 * 255 * 4])))

    def missing_initializer(nodes, inputs, outputs, inits):
        nodes[0].input[1] = "W_missing"
    gen.add("missing_initializer", variant(missing_initializer))

    def missing_node_input(nodes, inputs, outputs, inits):
        nodes[3].input[0] = "nothing_produces_this"
    gen.add("dangling_node_input", variant(missing_node_input))

    def missing_graph_output(nodes, inputs, outputs, inits):
        outputs[0].name = "not_produced"
    gen.add("dangling_graph_output", variant(missing_graph_output))

    def cycle(nodes, inputs, outputs, inits):
        # relu consumes gemm's output, gemm (via flatten) consumes relu's.
        nodes[1].input[0] = "y"
    gen.add("cycle_through_nodes", variant(cycle))

    def self_loop(nodes, inputs, outputs, inits):
        nodes[1].input[0] = "r"
    gen.add("cycle_self_loop", variant(self_loop))

    def two_producers(nodes, inputs, outputs, inits):
        nodes.append(helper.make_node("Relu", ["x"], ["r"], name="relu2"))
    gen.add("two_producers_of_one_value", variant(two_producers))

    def unknown_op(nodes, inputs, outputs, inits):
        nodes[1].op_type = "NoSuchOp"
    gen.add("unknown_op", variant(unknown_op))

    def empty_op(nodes, inputs, outputs, inits):
        nodes[1].op_type = ""
    gen.add("empty_op_type", variant(empty_op))

    def conv_attr(**attrs):
        def m(nodes, inputs, outputs, inits):
            for k, v in attrs.items():
                for a in list(nodes[0].attribute):
                    if a.name == k:
                        nodes[0].attribute.remove(a)
                nodes[0].attribute.append(helper.make_attribute(k, v))
        return m
    gen.add("conv_strides_zero", variant(conv_attr(strides=[0, 0])))
    gen.add("conv_strides_negative", variant(conv_attr(strides=[-1, -1])))
    gen.add("conv_dilations_zero", variant(conv_attr(dilations=[0, 0])))
    gen.add("conv_group_zero", variant(conv_attr(group=0)))
    gen.add("conv_group_not_dividing", variant(conv_attr(group=2)))
    gen.add("conv_pads_huge_negative", variant(conv_attr(pads=[-100, -100, -100, -100])))
    gen.add("conv_pads_huge", variant(conv_attr(pads=[2 ** 40] * 4)))
    gen.add("conv_pads_wrong_count", variant(conv_attr(pads=[1, 1, 1])))
    gen.add("conv_kernel_mismatch", variant(conv_attr(kernel_shape=[5, 5])))

    def flatten_axis(nodes, inputs, outputs, inits):
        nodes[2].attribute[0].i = 100
    gen.add("flatten_axis_100", variant(flatten_axis))

    def attr_wrong_type(nodes, inputs, outputs, inits):
        nodes[2].attribute[0].type = onnx.AttributeProto.STRING
        nodes[2].attribute[0].s = b"one"
    gen.add("attr_wrong_type", variant(attr_wrong_type))

    gen.add("opset_future", variant(lambda *p: make_model(*p, opset=100000)))
    gen.add("opset_zero", variant(lambda *p: make_model(*p, opset=0)))

    def no_opset(nodes, inputs, outputs, inits):
        model = make_model(nodes, inputs, outputs, inits)
        del model.opset_import[:]
        return model
    gen.add("no_opset_import", variant(no_opset))

    def no_outputs(nodes, inputs, outputs, inits):
        del outputs[:]
    gen.add("no_graph_outputs", variant(no_outputs))

    # External data that points outside the model's folder (or nowhere).
    def external(location, length=432, offset=0):
        def m(nodes, inputs, outputs, inits):
            t = next(t for t in inits if t.name == "W")
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
                e = t.external_data.add()
                e.key, e.value = k, v
        return m
    for tag, loc in (("parent", "../../../../../../../../etc/passwd"),
                     ("absolute", "/etc/passwd"),
                     ("nested_escape", "sub/../../../../../../../../etc/passwd"),
                     ("proc", "/proc/self/mem"),
                     ("dot", "."),
                     ("empty", "")):
        folder = os.path.join(gen.root, "ext_" + tag)
        gen.add("external_" + tag, variant(external(loc)), folder=folder)
    folder = os.path.join(gen.root, "ext_missing")
    gen.add("external_missing_file", variant(external("weights.bin")), folder=folder)
    folder = os.path.join(gen.root, "ext_short")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "weights.bin"), "wb") as f:
        f.write(b"\0" * 100)
    gen.add("external_file_too_short", variant(external("weights.bin")), folder=folder)
    gen.add("external_offset_past_end", variant(external("weights.bin", 432, 2 ** 62)), folder=folder)
    gen.add("external_negative_length", variant(external("weights.bin", -432)), folder=folder)

    # Bogus protobuf lengths and varints (built by hand).
    graph = make_model(*base_graph_parts()).graph.SerializeToString()
    opset = ld(MODEL_OPSET, ld(1, b"") + vi(2, 17))
    for tag, n in (("minus1", -1), ("2pow31", 2 ** 31), ("2pow63", 2 ** 63),
                   ("past_end", len(graph) + 1000)):
        gen.add("graph_length_" + tag,
                vi(MODEL_IR_VERSION, 8) + varint(MODEL_GRAPH << 3 | 2) + varint(n) + graph + opset)
    rest = graph_bytes_without("W2")
    for tag, n in (("minus1", -1), ("2pow63", 2 ** 63), ("past_end", 40960 + 100)):
        tensor = (vi(T_DIMS, 10) + vi(T_DIMS, 256) + vi(T_TYPE, TensorProto.FLOAT)
                  + ld(T_NAME, b"W2") + varint(T_RAW << 3 | 2) + varint(n) + w2[:64])
        gen.add("raw_data_length_" + tag, model_with_graph_bytes(ld(GRAPH_INIT, tensor) + rest))
    gen.add("dims_packed_length_minus1", model_with_graph_bytes(
        ld(GRAPH_INIT, varint(T_DIMS << 3 | 2) + varint(-1) + b"\x0a\x80\x02") + rest))
    gen.add("varint_overlong", b"\x08" + b"\xff" * 11 + b"\x01" + ld(MODEL_GRAPH, graph) + opset)
    gen.add("wire_type_7", b"\x0f" + base)
    gen.add("field_number_0", b"\x02\x05hello" + base)
    gen.add("end_group_without_start", ld(MODEL_GRAPH, b"\x0c" + graph) + opset)
    gen.add("garbage", bytes(random.Random(99).randrange(256) for _ in range(4096)))
    gen.add("zeros", b"\0" * 4096)

    # An If nested 50,000 deep (recursive parsers overflow the stack).
    gen.add("if_nested_50000", nested_if_model(50000))


def nested_if_model(depth):
    """ModelProto whose graph holds an If whose then_branch holds an If ...
    Built outside-in as prefixes with precomputed lengths, in linear time."""
    core = ld(GRAPH_NAME, b"g")      # innermost, empty graph
    # Each level: Graph{ node: Node{ op_type:"If", input:"c", attribute: Attr{
    #   name:"then_branch", type: GRAPH(5), g: <inner graph> } } }
    node_head = ld(1, b"c") + ld(4, b"If")          # NodeProto.input, op_type
    attr_head = ld(1, b"then_branch") + vi(20, 5)   # AttributeProto.name, type
    prefixes = []
    inner = len(core)
    for _ in range(depth):
        attr = attr_head + varint(6 << 3 | 2) + varint(inner)           # attr.g (field 6)
        attr_len = len(attr) + inner
        node = node_head + varint(5 << 3 | 2) + varint(attr_len)       # node.attribute
        node_len = len(node) + attr_len
        graph = varint(GRAPH_NODE << 3 | 2) + varint(node_len)         # graph.node
        prefixes.append(graph + node + attr)
        inner = len(graph) + node_len
    graph_bytes = b"".join(reversed(prefixes)) + core
    graph_bytes += ld(GRAPH_INPUT, onnx.helper.make_tensor_value_info(
        "c", TensorProto.BOOL, []).SerializeToString())
    return model_with_graph_bytes(graph_bytes)


def gen_dlc(gen, dlc):
    rng = random.Random(4321)
    # Flips: a third in the first 64 bytes (headers), the rest anywhere.
    head = rng.sample(range(min(64, len(dlc))), min(10, len(dlc)))
    rest = rng.sample(range(len(dlc)), min(20, len(dlc)))
    for pos in sorted(set(head + rest)):
        data = bytearray(dlc)
        data[pos] ^= rng.randrange(1, 256)
        gen.add("dlc_flip_%06d" % pos, bytes(data), kind="dlc", strict=False)
    points = {0, 1, 4, 8, 16, 32, 64, len(dlc) // 2, len(dlc) - 1}
    points.update(len(dlc) * k // 12 for k in range(1, 12))
    for n in sorted(p for p in points if p < len(dlc)):
        gen.add("dlc_trunc_%06d" % n, dlc[:n], kind="dlc")


def gen_lists(gen, x_raw):
    d = os.path.join(gen.root, "lists")
    os.makedirs(d, exist_ok=True)

    def raw(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        return p
    short = raw("short.raw", x_raw[:-4])
    long_ = raw("long.raw", x_raw + b"\0\0\0\0")
    empty = raw("empty.raw", b"")
    good = raw("good.raw", x_raw)
    for name, text in (
            ("list_raw_short", "x:=%s\n" % short),
            ("list_raw_long", "x:=%s\n" % long_),
            ("list_raw_empty", "x:=%s\n" % empty),
            ("list_missing_file", "x:=%s\n" % os.path.join(d, "does_not_exist.raw")),
            ("list_directory", "x:=%s\n" % d),
            ("list_unknown_input", "nosuchinput:=%s\n" % good),
            ("list_input_twice", "x:=%s x:=%s\n" % (good, good)),
            ("list_too_many_inputs", "%s %s\n" % (good, good)),
            ("list_unknown_output", "#nosuchoutput\nx:=%s\n" % good),
            ("list_empty", ""),
            ("list_only_selection", "#y\n")):
        gen.add(name, text.encode(), kind="list")


# --------------------------------------------------------------------------
# Running and checking
# --------------------------------------------------------------------------

def files_under(path):
    if os.path.isfile(path):
        return [path]
    found = []
    for dirpath, _, files in os.walk(path):
        found += [os.path.join(dirpath, f) for f in files]
    return found


class Checker:
    def __init__(self, exe, timeout, root, list_file):
        self.exe, self.timeout, self.root, self.list_file = exe, timeout, root, list_file
        self.counter = 0

    def run(self, args):
        try:
            p = subprocess.run(self.exe + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return None, "", ""
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def fresh_dir(self, label):
        d = os.path.join(self.root, "out", label)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def check(self, label, cmd, path, strict, list_file=None, artifact=None):
        """Run one command on one input; return None if fine, else a reason."""
        out = self.fresh_dir(label + "." + cmd)
        if cmd == "compile-qnn":
            target = os.path.join(out, "model.dlc")
            args = ["compile-qnn", path, target]
        elif cmd == "run":
            target = os.path.join(out, "results")
            args = ["run", artifact or path, "--input-list", list_file or self.list_file,
                    "--output-dir", target]
        else:
            target = None
            args = ["inspect", path]
        status, stdout, stderr = self.run(args)

        if status is None:
            return "timeout after %g s (hang)" % self.timeout
        if SANITIZER_RE.search(stderr):
            return "sanitizer report: " + SANITIZER_RE.search(stderr).group(0)
        if status < 0 or status >= 128:
            return "killed by signal / crashed (status %d)" % status
        if status not in (0, 1):
            return "exit status %d" % status
        left = files_under(out)
        if status == 1:
            if ERROR_PREFIX not in stderr:
                return "exit 1 without '%s' (stderr: %r)" % (ERROR_PREFIX, stderr[:120])
            if left:
                return "failed but left files behind: %s" % ", ".join(
                    os.path.relpath(f, out) for f in left[:5])
            return None
        # status 0
        if strict:
            return "accepted a malformed input (exit 0)"
        if cmd == "compile-qnn":
            if left != [target] or os.path.getsize(target) == 0:
                return "exit 0 but output folder holds %s" % [os.path.relpath(f, out) for f in left]
        elif cmd == "run":
            if not any(re.search(r"Result_0/[^/]+\.raw$", f) for f in left):
                return "exit 0 but no Result_0/*.raw written"
        elif not stdout.strip():
            return "inspect exit 0 but printed nothing"
        return None


def controls(checker, base_path, x, list_file, dlc_path):
    """The valid model must work; returns (failures, dlc bytes or None)."""
    failures = []
    out = checker.fresh_dir("control.compile")
    status, _, err = checker.run(["compile-qnn", base_path, dlc_path])
    if status != 0 or not os.path.isfile(dlc_path):
        failures.append(("control", "compile-qnn of the valid model failed (status %s): %s"
                         % (status, err.strip()[:200])))
        dlc = None
    else:
        with open(dlc_path, "rb") as f:
            dlc = f.read()
    want = reference_output(x)
    for artifact in [base_path] + ([dlc_path] if dlc else []):
        out = checker.fresh_dir("control.run." + os.path.basename(artifact))
        status, _, err = checker.run(["run", artifact, "--input-list", list_file,
                                      "--output-dir", out])
        y = os.path.join(out, "Result_0", "y.raw")
        if status != 0 or not os.path.isfile(y):
            failures.append(("control", "run %s failed (status %s): %s"
                             % (os.path.basename(artifact), status, err.strip()[:200])))
            continue
        got = np.fromfile(y, "<f4")
        if got.size != 10 or np.max(np.abs(got - want.ravel())) > 1e-4 * np.max(np.abs(want)):
            failures.append(("control", "run %s: wrong output %s, expected %s"
                             % (os.path.basename(artifact), got[:4], want.ravel()[:4])))
        status, stdout, err = checker.run(["inspect", artifact])
        if status != 0 or not stdout.strip():
            failures.append(("control", "inspect %s failed (status %s): %s"
                             % (os.path.basename(artifact), status, err.strip()[:200])))
    return failures, dlc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modelexport", required=True, help="path to the modelexport binary")
    ap.add_argument("--dir", help="where to generate inputs (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated folder")
    ap.add_argument("--wrapper", default="", help="command prefix, e.g. 'valgrind -q --error-exitcode=99'")
    ap.add_argument("--timeout", type=float, default=30, help="seconds per command (default 30)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    exe_path = os.path.abspath(args.modelexport)
    if not os.access(exe_path, os.X_OK):
        print("malformed: %s is not an executable" % exe_path, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    root = os.path.abspath(args.dir) if args.dir else tempfile.mkdtemp(prefix="malformed.")
    os.makedirs(root, exist_ok=True)

    # The valid model, its input and input list.
    base_model = make_model(*base_graph_parts())
    onnx.checker.check_model(base_model)
    base = base_model.SerializeToString()
    base_path = os.path.join(root, "base.onnx")
    with open(base_path, "wb") as f:
        f.write(base)
    x = np.random.default_rng(11).standard_normal(X_SHAPE).astype(np.float32)
    x_path = os.path.join(root, "x.raw")
    x.tofile(x_path)
    list_file = os.path.join(root, "input_list.txt")
    with open(list_file, "w") as f:
        f.write("x:=%s\n" % x_path)

    checker = Checker(shlex.split(args.wrapper) + [exe_path], args.timeout, root, list_file)
    failures, dlc = controls(checker, base_path, x, list_file, os.path.join(root, "base.dlc"))
    passed = 0 if failures else 1

    gen = Gen(root)
    gen_onnx(gen, base)
    if dlc:
        gen_dlc(gen, dlc)
    gen_lists(gen, x.tobytes())

    jobs = []
    for name, path, kind, strict in gen.items:
        if kind == "onnx":
            for cmd in ("compile-qnn", "run", "inspect"):
                jobs.append((name, cmd, path, strict, None, None))
        elif kind == "dlc":
            for cmd in ("run", "inspect"):
                jobs.append((name, cmd, path, strict, None, None))
        elif dlc:
            jobs.append((name, "run", path, True, path, os.path.join(root, "base.dlc")))
        else:
            jobs.append((name, "run", path, True, path, base_path))

    def work(job):
        name, cmd, path, strict, list_path, artifact = job
        return name, cmd, checker.check(name, cmd, path, strict, list_path, artifact)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, cmd, why in pool.map(work, jobs):
            if why:
                failures.append(("%s %s" % (cmd, name), why))
            else:
                passed += 1

    for what, why in failures:
        print("FAIL %s: %s" % (what, why))
    print("%d generated inputs (%d onnx, %d dlc, %d input lists) in %s" % (
        len(gen.items), sum(k == "onnx" for _, _, k, _ in gen.items),
        sum(k == "dlc" for _, _, k, _ in gen.items),
        sum(k == "list" for _, _, k, _ in gen.items), root))
    if not args.keep and not args.dir:
        shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
