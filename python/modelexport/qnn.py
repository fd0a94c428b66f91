"""QNN-style compile and run from Python.

    from modelexport.qnn import QNNCompiler
    qc = QNNCompiler()
    qc.compile("model.onnx", "model.dlc", input_dims={"x": [1, 3, 224, 224]})
    outputs = qc.run("model.dlc", {"x": image})        # dict name -> numpy array
    info = qc.inspect("model.dlc")                      # dict (inspect --json)

Every keyword argument of compile() becomes the command-line flag of the
same name (underscores -> dashes; True -> a bare flag; False/None -> omitted;
lists -> comma-separated), so every `modelexport compile-qnn` option is
available without this module having to track them. Errors raise
ModelExportError carrying the tool's message.

The wrapper drives the `modelexport` executable (found through $MODELEXPORT,
then the repository's build/ folder, then $PATH), so Python and the command
line always behave identically.
"""
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

_DTYPES = {
    "float32": np.float32, "float16": np.float16, "float64": np.float64, "int64": np.int64,
    "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint64": np.uint64, "uint32": np.uint32,
    "uint16": np.uint16, "uint8": np.uint8, "bool": np.bool_,
}


class ModelExportError(RuntimeError):
    """A modelexport command failed; str(e) is its error message."""

    def __init__(self, message, returncode):
        super().__init__(message)
        self.returncode = returncode


def _find_binary():
    env = os.environ.get("MODELEXPORT")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    built = os.path.join(here, "..", "..", "build", "modelexport")
    if os.path.exists(built):
        return os.path.abspath(built)
    found = shutil.which("modelexport")
    if found:
        return found
    raise ModelExportError("cannot find the modelexport executable: build it with `make` "
                           "or set $MODELEXPORT", 1)


def _flags(options):
    args = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif key == "input_dims":  # {name: dims} -> repeated --input-dim NAME d0,d1
            for name, dims in value.items():
                args += ["--input-dim", name, ",".join(str(int(d)) for d in dims)]
        elif key == "freeze_inputs":  # {name: path}
            for name, path in value.items():
                args += ["--freeze-input", f"{name}={path}"]
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, str(value)]
    return args


class QNNCompiler:
    def __init__(self, binary=None):
        self.binary = binary or _find_binary()

    def _call(self, args):
        r = subprocess.run([self.binary, *args], capture_output=True, text=True)
        if r.returncode != 0:
            msg = r.stderr.strip() or f"modelexport exited with status {r.returncode}"
            raise ModelExportError(msg, r.returncode)
        return r.stdout

    def compile(self, model, output, **options):
        """Compile `model` (.onnx) to `output`; returns the tool's summary line."""
        return self._call(["compile-qnn", str(model), str(output), *_flags(options)]).strip()

    def inspect(self, path):
        """The artifact's or model's summary as a dict (`inspect --json`)."""
        return json.loads(self._call(["inspect", str(path), "--json"]))

    def run(self, artifact, inputs, **options):
        """Run one inference. `inputs` maps graph-input names to arrays (cast to
        the input's dtype, which must have the input's size). Returns a dict
        output name -> numpy array shaped and typed like the graph output."""
        info = self.inspect(artifact)
        with tempfile.TemporaryDirectory(prefix="modelexport-") as tmp:
            entries = []
            for spec in info["inputs"]:
                name = spec["name"]
                if name not in inputs:
                    raise ModelExportError(f"missing input '{name}'", 2)
                arr = np.ascontiguousarray(inputs[name], dtype=_DTYPES[spec["dtype"]])
                path = os.path.join(tmp, f"in{len(entries)}.raw")
                arr.tofile(path)
                entries.append(f"{name}:={path}")
            unknown = set(inputs) - {s["name"] for s in info["inputs"]}
            if unknown:
                raise ModelExportError(f"unknown inputs: {sorted(unknown)}", 2)
            lst = os.path.join(tmp, "inputs.txt")
            with open(lst, "w") as f:
                f.write(" ".join(entries) + "\n")
            out_dir = os.path.join(tmp, "out")
            self._call(["run", str(artifact), "--input-list", lst, "--output-dir", out_dir, *_flags(options)])
            result = {}
            for spec in info["outputs"]:
                safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in spec["name"])
                data = np.fromfile(os.path.join(out_dir, "Result_0", safe + ".raw"), dtype=_DTYPES[spec["dtype"]])
                result[spec["name"]] = data.reshape(spec["shape"])
            return result
