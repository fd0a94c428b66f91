#!/usr/bin/env node
// Reference runner: executes an ONNX model with ONNX Runtime (CPU, 1 thread)
// and writes its outputs exactly the way `modelexport run` does, so that the
// two output trees can be compared file by file with compare_raw.py.
//
// Usage: node tests/tools/ort_run.js MODEL.onnx INPUT_LIST OUTDIR
//
// INPUT_LIST uses the QNN input_list syntax, with the same rules as
// `modelexport run`:
//   - lines starting with '#' or '%' name the outputs to write (separated by
//     spaces or commas); they must come before the data lines; without them
//     every graph output is written;
//   - every other line is one inference: space separated entries, either
//     plain paths in graph-input order or `name:=path` (not both on one line);
//   - blank lines are skipped, except for a model without inputs, where each
//     line is one inference (and a list without lines runs it once);
//   - a relative path is taken from the current directory, or, if no such
//     file exists there, from the input list's directory.
// Input files are headerless little-endian row-major arrays in the graph
// input's dtype and shape. For inference i (counting data lines from 0) every
// selected output is written to OUTDIR/Result_<i>/<name>.raw, where every byte
// of the UTF-8 output name outside [A-Za-z0-9._-] becomes '_'.
//
// Needs onnxruntime-node from the repository's package.json
// (`npm ci --ignore-scripts` at the repo root). Exit status 0 on success,
// 1 on any error ("ort_run: error: ..." on stderr), 2 on bad usage.

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');

// dtype name (as ORT reports it) -> typed array class and element size.
const DTYPES = {
  float32: { array: Float32Array, size: 4 },
  float16: { array: Uint16Array, size: 2 },   // raw IEEE half bits
  int64: { array: BigInt64Array, size: 8 },
  int32: { array: Int32Array, size: 4 },
  int8: { array: Int8Array, size: 1 },
  uint8: { array: Uint8Array, size: 1 },
  int16: { array: Int16Array, size: 2 },
  uint16: { array: Uint16Array, size: 2 },
  bool: { array: Uint8Array, size: 1 },
};

class UsageError extends Error {}

function fail(msg) {
  throw new Error(msg);
}

// Same rule as modelexport: every byte of the UTF-8 name outside
// [A-Za-z0-9._-] becomes '_'.
function sanitize(name) {
  return Array.from(Buffer.from(name, 'utf8'), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9._-]/.test(c) ? c : '_';
  }).join('');
}

// Parse an input list into { outputs: [names] | null, lines: [[{name, path}]] }
// where name is null for positional entries. numInputs decides whether blank
// lines count (they do only for models without inputs).
function parseInputList(text, numInputs) {
  let outputs = null;
  const lines = [];
  const rows = text.split('\n');
  if (rows[rows.length - 1] === '') rows.pop();       // final newline ends the last line
  for (const raw of rows) {
    const line = raw.trim();
    if (line[0] === '#' || line[0] === '%') {
      if (lines.length > 0) fail(`output selection line after data lines: "${line}"`);
      outputs = (outputs || []).concat(line.slice(1).split(/[\s,]+/).filter(Boolean));
      continue;
    }
    if (line === '' && numInputs > 0) continue;
    lines.push(line.split(/\s+/).filter(Boolean).map((entry) => {
      const at = entry.indexOf(':=');
      if (at < 0) return { name: null, path: entry };
      if (at === 0) fail(`empty input name in entry "${entry}"`);
      return { name: entry.slice(0, at), path: entry.slice(at + 2) };
    }));
  }
  if (lines.length === 0 && numInputs === 0) lines.push([]);   // run once
  return { outputs, lines };
}

// Resolve an input path: as given (relative to the current directory), else
// relative to the input list's directory.
function resolveInput(file, listPath) {
  if (path.isAbsolute(file) || fs.existsSync(file)) return path.resolve(file);
  const alt = path.resolve(path.dirname(listPath), file);
  return fs.existsSync(alt) ? alt : path.resolve(file);
}

// Read one raw file as an ORT tensor of the given graph-input metadata.
function loadTensor(meta, file) {
  const dt = DTYPES[meta.type];
  if (!meta.isTensor || !dt) fail(`input "${meta.name}": unsupported type ${meta.type}`);
  const bytes = fs.readFileSync(file);
  if (bytes.length % dt.size !== 0) {
    fail(`${file}: ${bytes.length} bytes is not a whole number of ${meta.type} elements`);
  }
  const count = bytes.length / dt.size;
  // Resolve the shape; at most one symbolic/unknown dim is inferred from the size.
  const shape = meta.shape.slice();
  const unknown = shape.map((d, i) => (typeof d === 'number' && d >= 0 ? -1 : i)).filter((i) => i >= 0);
  const known = shape.reduce((p, d) => (typeof d === 'number' && d >= 0 ? p * d : p), 1);
  if (unknown.length > 1) fail(`input "${meta.name}": more than one dynamic dimension`);
  if (unknown.length === 1) {
    if (known === 0 || count % known !== 0) fail(`${file}: size does not fit input "${meta.name}"`);
    shape[unknown[0]] = count / known;
  } else if (known !== count) {
    fail(`${file}: ${count} elements, input "${meta.name}" [${shape}] needs ${known}`);
  }
  // Copy into a fresh, aligned buffer (Buffer slices may be unaligned).
  const data = new dt.array(count);
  new Uint8Array(data.buffer).set(bytes);
  return new ort.Tensor(meta.type, data, shape);
}

async function main(argv) {
  if (argv.length !== 3) throw new UsageError('usage: node ort_run.js MODEL.onnx INPUT_LIST OUTDIR');
  const [modelPath, listPath, outDir] = argv;
  if (os.endianness() !== 'LE') fail('big-endian hosts are not supported');

  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // ORT_RUN_OPT_LEVEL=disabled runs every node as written (e.g. QDQ pairs unfused).
    graphOptimizationLevel: process.env.ORT_RUN_OPT_LEVEL || 'all',
  });
  const inputMeta = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputMeta = new Map(session.outputMetadata.map((m) => [m.name, m]));

  const list = parseInputList(fs.readFileSync(listPath, 'utf8'), session.inputNames.length);
  if (list.lines.length === 0) fail(`${listPath}: no inference lines`);

  const outputs = list.outputs || session.outputNames;
  const files = new Set();
  for (const name of outputs) {
    if (!outputMeta.has(name)) fail(`unknown output "${name}"`);
    if (files.has(sanitize(name))) fail(`two outputs map to the file name "${sanitize(name)}.raw"`);
    files.add(sanitize(name));
  }

  for (let i = 0; i < list.lines.length; i++) {
    const entries = list.lines[i];
    const named = entries.some((e) => e.name !== null);
    if (named && entries.some((e) => e.name === null)) {
      fail(`line ${i}: mixes name:=path and plain path entries`);
    }
    const feeds = {};
    entries.forEach((e, k) => {
      const name = named ? e.name : session.inputNames[k];
      if (name === undefined) fail(`line ${i}: more entries than the model's ${session.inputNames.length} inputs`);
      if (!inputMeta.has(name)) fail(`line ${i}: unknown input "${name}"`);
      if (name in feeds) fail(`line ${i}: input "${name}" given twice`);
      feeds[name] = loadTensor(inputMeta.get(name), resolveInput(e.path, listPath));
    });
    for (const name of session.inputNames) {
      if (!(name in feeds)) fail(`line ${i}: no value for input "${name}"`);
    }

    const results = await session.run(feeds, outputs);
    const dir = path.join(outDir, `Result_${i}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const name of outputs) {
      const t = results[name];
      if (!DTYPES[t.type]) fail(`output "${name}": unsupported type ${t.type}`);
      const d = t.data;
      fs.writeFileSync(path.join(dir, `${sanitize(name)}.raw`),
        Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`ort_run: error: ${err.message}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
