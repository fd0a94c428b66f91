#!/usr/bin/python3
"""Run ONNX's per-operator backend test cases through modelexport.

Usage:
    conformance.py --modelexport build/modelexport --cases ../shared/conformance/onnx-node
                   [--filter SUBSTR] [--jobs 2] [--json report.json]
                   [--min-pass 0.95] [--timeout 60] [--list-only] [--keep]

Each case directory holds model.onnx and test_data_set_*/{input,output}_K.pb.

Classification. A case is *in scope* iff every node (also inside If/Loop/...
subgraphs) is an op of SUPPORTED_OPS in the default domain, and every tensor
type it declares -- graph inputs/outputs/initializers (and those of
subgraphs), Constant/ConstantOfShape tensors, and dtype attributes such as
Cast's `to` -- is one of SUPPORTED_DTYPES. Everything else is *out of scope*.

In-scope cases: the inputs are written as raw files, the model is compiled
with `compile-qnn`, run with `run` (one input-list line per data set), and the
outputs compared with ONNX's backend-test tolerances (rtol 1e-3, atol 1e-7;
atol 1e-3 for float16; exact for integers/bools; NaNs must line up). If the
compiler answers that some inputs "must be fixed at compile time: A B (use
--freeze-input NAME=FILE)", each data set is compiled separately with those
inputs frozen to its values, and they are left out of the input list.

Out-of-scope cases are run the same way but are expected to fail cleanly:
exit status 1 and "modelexport: error:" on stderr, naming an unsupported op if
unsupported ops are the only reason the case is out of scope. A case that
still compiles and gives correct results counts as an out-of-scope pass.

Hard failures, in any case: a signal or crash (status < 0 or >= 128), any
status other than 0/1, or a command exceeding --timeout (a hang).
An out-of-scope case that fails without a proper message or compiles but
gives wrong results is "unclean" and also fails the run.

The last line is `N passed, M failed` over the in-scope cases. Exit status 0
iff the in-scope pass rate is >= --min-pass and there are no hard failures or
unclean out-of-scope results.
"""

import argparse
import collections
import concurrent.futures
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

from core_ops import SUPPORTED_OPS  # noqa: E402

T = onnx.TensorProto
SUPPORTED_DTYPES = {T.FLOAT, T.FLOAT16, T.INT64, T.INT32, T.INT8, T.UINT8, T.BOOL}
# Attributes that name a tensor element type (Cast.to, QuantizeLinear.output_dtype...).
DTYPE_ATTRS = {"to", "dtype", "output_dtype"}

FREEZE_RE = re.compile(r"must be fixed at compile time:\s*(.*?)\s*\(use --freeze-input")
ERROR_PREFIX = "modelexport: error:"
SAFE_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def sanitize(name):
    """Output-file name rule of `modelexport run`: every byte of the UTF-8 name
    outside [A-Za-z0-9._-] becomes '_'."""
    return "".join(chr(b) if b in SAFE_CHARS else "_" for b in name.encode("utf-8"))


# Element types newer than this onnx package knows about.
NEWER_DTYPES = {17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
                20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
                24: "FLOAT8E8M0", 25: "UINT2", 26: "INT2"}


def dtype_name(elem):
    try:
        return T.DataType.Name(elem)
    except ValueError:
        return NEWER_DTYPES.get(elem, "type%d" % elem)


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------

class Scope:
    """What a model uses: ops, unsupported ops, and out-of-scope reasons."""

    def __init__(self):
        self.ops = set()              # every op type used (in scope or not)
        self.bad_ops = set()          # ops outside SUPPORTED_OPS / foreign domains
        self.other = set()            # non-op reasons (dtypes, non-tensor I/O...)

    @property
    def in_scope(self):
        return not self.bad_ops and not self.other

    def reasons(self):
        return sorted("op " + o for o in self.bad_ops) + sorted(self.other)


def _check_value_info(vi, scope, what, top):
    kind = vi.type.WhichOneof("value")
    if kind is None and not top:
        return                        # subgraph I/O may leave types to inference
    if kind != "tensor_type":
        scope.other.add("non-tensor %s (%s)" % (what, kind or "untyped"))
    elif vi.type.tensor_type.elem_type not in SUPPORTED_DTYPES:
        scope.other.add("dtype " + dtype_name(vi.type.tensor_type.elem_type))


def _check_graph(graph, scope, top=True):
    for vi in graph.input:
        _check_value_info(vi, scope, "input", top)
    for vi in graph.output:
        _check_value_info(vi, scope, "output", top)
    for init in graph.initializer:
        if init.data_type not in SUPPORTED_DTYPES:
            scope.other.add("dtype " + dtype_name(init.data_type))
    if len(graph.sparse_initializer):
        scope.other.add("sparse initializer")
    for node in graph.node:
        domain = "" if node.domain in ("", "ai.onnx") else node.domain
        op = (domain + "::" if domain else "") + node.op_type
        scope.ops.add(op)
        if domain or node.op_type not in SUPPORTED_OPS:
            scope.bad_ops.add(op)
        if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
            # training_mode input: random masks cannot be compared.
            scope.other.add("Dropout with training_mode input")
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                _check_graph(attr.g, scope, top=False)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    _check_graph(g, scope, top=False)
            elif attr.type == onnx.AttributeProto.TENSOR:
                if attr.t.data_type not in SUPPORTED_DTYPES:
                    scope.other.add("dtype " + dtype_name(attr.t.data_type))
            elif attr.type in (onnx.AttributeProto.SPARSE_TENSOR,
                               onnx.AttributeProto.STRING) and node.op_type == "Constant":
                scope.other.add("Constant " + attr.name)
            elif attr.type == onnx.AttributeProto.INT and attr.name in DTYPE_ATTRS:
                if attr.i not in SUPPORTED_DTYPES:
                    scope.other.add("dtype " + dtype_name(attr.i))


def classify(model):
    scope = Scope()
    _check_graph(model.graph, scope)
    return scope


# --------------------------------------------------------------------------
# Running one case
# --------------------------------------------------------------------------

class Runner:
    """Runs modelexport (behind an optional wrapper) with a timeout."""

    def __init__(self, exe, timeout):
        self.exe, self.timeout = exe, timeout

    def __call__(self, *args):
        """Return (status, stderr); status is None on timeout."""
        try:
            p = subprocess.run(self.exe + list(args), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=self.timeout)
        except subprocess.TimeoutExpired as e:
            return None, (e.stderr or b"").decode("utf-8", "replace")
        return p.returncode, p.stderr.decode("utf-8", "replace")


def hard_failure(status):
    """Describe a status that is never acceptable, or return None."""
    if status is None:
        return "timeout (hang)"
    if status < 0 or status >= 128:
        return "crash/signal (status %d)" % status
    if status not in (0, 1):
        return "unexpected exit status %d" % status
    return None


class CaseFailure(Exception):
    """A command failed; kind is 'hard' or 'fail'."""

    def __init__(self, kind, reason, stderr="", status=None):
        super().__init__(reason)
        self.kind, self.reason, self.stderr, self.status = kind, reason, stderr, status


def check(runner, step, *args):
    status, err = runner(*args)
    hard = hard_failure(status)
    if hard:
        raise CaseFailure("hard", "%s: %s" % (step, hard), err, status)
    if status != 0:
        raise CaseFailure("fail", "%s failed (status %d)" % (step, status), err, status)
    return err


def load_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def to_raw(array):
    """Headerless little-endian bytes (bool as one byte per element)."""
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    return np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()


def read_data_sets(case_dir, model):
    """Return [(name, {input name: array}, {output name: array})] per data set."""
    init_names = {i.name for i in model.graph.initializer}
    in_names = [i.name for i in model.graph.input if i.name not in init_names]
    out_names = [o.name for o in model.graph.output]
    sets = []
    for ds in sorted(glob.glob(os.path.join(case_dir, "test_data_set_*")),
                     key=lambda p: int(p.rsplit("_", 1)[1])):
        inputs, outputs = {}, {}
        n_in = len(glob.glob(os.path.join(ds, "input_*.pb")))
        if n_in != len(in_names):
            raise CaseFailure("fail", "harness: %d input files for %d graph inputs"
                              % (n_in, len(in_names)))
        for k, name in enumerate(in_names):
            inputs[name] = numpy_helper.to_array(load_tensor(os.path.join(ds, "input_%d.pb" % k)))
        for k, name in enumerate(out_names):
            path = os.path.join(ds, "output_%d.pb" % k)
            if name and os.path.exists(path):        # optional/empty outputs: skip
                outputs[name] = numpy_helper.to_array(load_tensor(path))
        sets.append((os.path.basename(ds), inputs, outputs))
    if not sets:
        raise CaseFailure("fail", "harness: no test_data_set_*")
    return sets


def compare_output(name, expected, path):
    """Return None if the raw file matches the expected array, else a reason."""
    if not os.path.exists(path):
        return "output %r: no file %s" % (name, os.path.basename(path))
    with open(path, "rb") as f:
        data = f.read()
    dtype = np.dtype(np.uint8 if expected.dtype == np.bool_ else expected.dtype).newbyteorder("<")
    if len(data) != expected.size * dtype.itemsize:
        return "output %r: %d bytes, expected %d" % (name, len(data), expected.size * dtype.itemsize)
    actual = np.frombuffer(data, dtype).reshape(expected.shape)
    if expected.dtype == np.bool_:
        expected = expected.astype(np.uint8)
    try:
        if expected.dtype.kind == "f":
            atol = 1e-3 if expected.dtype == np.float16 else 1e-7
            np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                       rtol=1e-3, atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(actual, expected)
    except AssertionError as e:
        lines = [l.strip() for l in str(e).splitlines() if l.strip()]
        return "output %r mismatch: %s" % (name, "; ".join(lines[1:4]))
    return None


def execute(runner, case_dir, model, work):
    """Compile and run one case; raise CaseFailure or return a note."""
    model_path = os.path.join(case_dir, "model.onnx")
    dlc = os.path.join(work, "model.dlc")
    # Compile first: out-of-scope cases should stop here, before their test
    # data (which may be sequences, float8...) is even read.
    status, err = runner("compile-qnn", model_path, dlc)
    match = FREEZE_RE.search(err) if status == 1 else None
    if not match:
        hard = hard_failure(status)
        if hard:
            raise CaseFailure("hard", "compile: " + hard, err, status)
        if status != 0:
            raise CaseFailure("fail", "compile failed (status %d)" % status, err, status)

    try:
        sets = read_data_sets(case_dir, model)
    except CaseFailure:
        raise
    except Exception as e:
        raise CaseFailure("fail", "harness: cannot read test data: %s: %s" % (type(e).__name__, e))

    # Write every input of every data set as raw.
    raw = {}
    for k, (_, inputs, _) in enumerate(sets):
        for j, (name, array) in enumerate(inputs.items()):
            raw[k, name] = os.path.join(work, "in%d_%d.raw" % (k, j))
            with open(raw[k, name], "wb") as f:
                f.write(to_raw(array))

    def run_and_compare(dlc, indices, frozen):
        """Run data sets `indices` (one input-list line each) and compare.
        For a graph left without runtime inputs the lines are blank, which
        `run` takes as one inference each."""
        listing = os.path.join(work, "list%d.txt" % indices[0])
        with open(listing, "w") as f:
            for k in indices:
                f.write(" ".join("%s:=%s" % (n, raw[k, n]) for n in sets[k][1]
                                 if n not in frozen) + "\n")
        out = os.path.join(work, "out%d" % indices[0])
        check(runner, "run", "run", dlc, "--input-list", listing, "--output-dir", out)
        for line, k in enumerate(indices):
            ds_name, _, outputs = sets[k]
            for name, expected in outputs.items():
                why = compare_output(name, expected, os.path.join(
                    out, "Result_%d" % line, sanitize(name) + ".raw"))
                if why:
                    raise CaseFailure("fail", "%s: %s" % (ds_name, why))

    if not match:
        run_and_compare(dlc, list(range(len(sets))), set())
        return ""

    # Some inputs must be compile-time constants: one compile per data set.
    frozen = match.group(1).split()
    unknown = [n for n in frozen if n not in sets[0][1]]
    if not frozen or unknown:
        raise CaseFailure("fail", "compile asks to freeze unknown inputs %s" % (unknown or "''"), err)
    for k in range(len(sets)):
        dlc = os.path.join(work, "model%d.dlc" % k)
        flags = []
        for n in frozen:
            flags += ["--freeze-input", "%s=%s" % (n, raw[k, n])]
        check(runner, "compile (frozen %s)" % " ".join(frozen), "compile-qnn", model_path, dlc, *flags)
        run_and_compare(dlc, [k], set(frozen))
    return "frozen: " + " ".join(frozen)


def run_case(case_dir, runner, workdir, keep):
    """Classify and run one case; return its result record."""
    name = os.path.basename(case_dir.rstrip("/"))
    model = onnx.load(os.path.join(case_dir, "model.onnx"), load_external_data=False)
    scope = classify(model)
    rec = {"case": name, "in_scope": scope.in_scope, "reasons": scope.reasons(),
           "ops": sorted(scope.ops)}
    work = tempfile.mkdtemp(prefix=name + ".", dir=workdir)
    try:
        note = execute(runner, case_dir, model, work)
        rec.update(status="pass", detail=note)
    except CaseFailure as f:
        rec.update(status=f.kind, detail=f.reason, stderr=f.stderr[:2000], exit=f.status)
    except Exception as e:          # a bug in this script: report, do not hide
        rec.update(status="fail", detail="harness error: %s: %s" % (type(e).__name__, e))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

    if not scope.in_scope and rec["status"] == "fail":
        rec["status"] = judge_out_of_scope(scope, rec)
    return rec


def judge_out_of_scope(scope, rec):
    """An out-of-scope case that failed: was it a clean refusal?"""
    err = rec.get("stderr", "")
    if rec.get("exit") != 1:
        # Compiled (and maybe ran) but the results were wrong or unreadable.
        rec["detail"] = "out of scope but not refused: " + rec["detail"]
        return "unclean"
    if ERROR_PREFIX not in err:
        rec["detail"] = "exit 1 without '%s'" % ERROR_PREFIX
        return "unclean"
    if scope.bad_ops and not scope.other:
        names = {op.split("::")[-1] for op in scope.bad_ops}
        if not any(re.search(r"\b%s\b" % re.escape(n), err) for n in names):
            rec["detail"] = "error does not name the unsupported op(s) %s" % ", ".join(sorted(names))
            return "unclean"
    return "clean"


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def list_only(cases):
    """Classify without running; print counts."""
    in_scope, ops_in, bad_ops, other = 0, collections.Counter(), collections.Counter(), collections.Counter()
    for case in cases:
        scope = classify(onnx.load(os.path.join(case, "model.onnx"), load_external_data=False))
        if scope.in_scope:
            in_scope += 1
            ops_in.update(scope.ops)
        bad_ops.update(scope.bad_ops)
        other.update(scope.other)
    print("in-scope cases by op (a case counts once for each op it uses):")
    for op, n in sorted(ops_in.items(), key=lambda kv: (-kv[1], kv[0])):
        print("  %-28s %4d" % (op, n))
    print("out-of-scope reasons (cases):")
    for what, n in sorted(list(bad_ops.items()) + [(k, n) for k, n in other.items()],
                          key=lambda kv: (-kv[1], kv[0])):
        print("  %-40s %4d" % (what, n))
    print("%d cases: %d in scope, %d out of scope" % (len(cases), in_scope, len(cases) - in_scope))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modelexport", help="path to the modelexport binary (not needed with --list-only)")
    ap.add_argument("--cases", required=True, help="directory of test_* case folders")
    ap.add_argument("--filter", action="append", default=[], metavar="SUBSTR",
                    help="only cases whose name contains SUBSTR (repeatable: any of them)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", metavar="FILE", help="write per-case results here")
    ap.add_argument("--min-pass", type=float, default=0.95,
                    help="minimum in-scope pass rate for exit status 0 (default 0.95)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per command (default 60)")
    ap.add_argument("--wrapper", default="", help="command prefix, e.g. 'valgrind -q --error-exitcode=99'")
    ap.add_argument("--workdir", help="where temporary files go (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary files")
    ap.add_argument("--list-only", action="store_true", help="classify and print counts, run nothing")
    args = ap.parse_args()

    cases = sorted(d for d in glob.glob(os.path.join(args.cases, "*"))
                   if os.path.isfile(os.path.join(d, "model.onnx"))
                   and (not args.filter or any(s in os.path.basename(d) for s in args.filter)))
    if not cases:
        print("conformance: no cases found in %s" % args.cases, file=sys.stderr)
        print("0 passed, 0 failed")
        return 1
    if args.list_only:
        return list_only(cases)

    exe = shlex.split(args.wrapper) + [os.path.abspath(args.modelexport or "")]
    if not args.modelexport or not os.access(exe[-1], os.X_OK):
        print("conformance: --modelexport %s is not an executable" % args.modelexport, file=sys.stderr)
        print("0 passed, 0 failed")
        return 1
    runner = Runner(exe, args.timeout)
    workdir = tempfile.mkdtemp(prefix="conformance.", dir=args.workdir)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda c: run_case(c, runner, workdir, args.keep), cases))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)

    counts = collections.Counter((r["in_scope"], r["status"]) for r in results)
    for r in results:
        bad = (r["status"] in ("fail", "hard") if r["in_scope"]
               else r["status"] in ("hard", "unclean"))
        if bad:
            err = r.get("stderr", "").strip().replace("\n", " | ")[:200]
            print("%s %s [%s]: %s%s" % ("HARD" if r["status"] == "hard" else "FAIL", r["case"],
                                        "in scope" if r["in_scope"] else "out of scope",
                                        r["detail"], ("  stderr: " + err) if err else ""))

    passed = counts[True, "pass"]
    failed = counts[True, "fail"] + counts[True, "hard"]
    hard = counts[True, "hard"] + counts[False, "hard"]
    unclean = counts[False, "unclean"]
    total_in = passed + failed
    rate = passed / total_in if total_in else 1.0
    print("in scope: %d cases, %d passed, %d failed (%.1f%% pass, minimum %.1f%%)"
          % (total_in, passed, failed, 100 * rate, 100 * args.min_pass))
    print("out of scope: %d cases, %d failed cleanly, %d passed, %d unclean, %d hard failures"
          % (sum(n for (i, _), n in counts.items() if not i), counts[False, "clean"],
             counts[False, "pass"], unclean, counts[False, "hard"]))
    print("hard failures (crash, signal, bad exit status, timeout) in all cases: %d" % hard)

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"summary": {"in_scope_passed": passed, "in_scope_failed": failed,
                                   "pass_rate": rate, "hard_failures": hard,
                                   "out_of_scope_clean": counts[False, "clean"],
                                   "out_of_scope_passed": counts[False, "pass"],
                                   "out_of_scope_unclean": unclean},
                       "cases": results}, f, indent=1)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if rate >= args.min_pass and hard == 0 and unclean == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
