#!/usr/bin/env node
// ONNX Runtime side of `make bench`: session creation, first run and timed
// runs of one model on the CPU execution provider, printed as one JSON line.
//
//   node bench/ort_bench.js MODEL.onnx [--threads T] [--iters N] [--warmup W] [--input NAME=FILE]...
//
// "since_start_ms" is performance.now() at the first result, i.e. the time
// from this process's start (node's time origin) to the first output.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));

const TYPED = {
  float32: Float32Array, int64: BigInt64Array, int32: Int32Array, int8: Int8Array, uint8: Uint8Array,
  bool: Uint8Array, float64: Float64Array, int16: Int16Array, uint16: Uint16Array,
};

async function main() {
  const argv = process.argv.slice(2);
  let model = null, threads = 1, iters = 10, warmup = 1;
  const files = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') threads = parseInt(argv[++i], 10);
    else if (a === '--iters') iters = parseInt(argv[++i], 10);
    else if (a === '--warmup') warmup = parseInt(argv[++i], 10);
    else if (a === '--input') { const [k, v] = argv[++i].split(/=(.*)/s); files[k] = v; }
    else model = a;
  }
  if (!model) { console.error('usage: ort_bench.js MODEL.onnx [--threads T] [--iters N] [--warmup W] [--input NAME=FILE]'); process.exit(2); }
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const t1 = performance.now();
  const feeds = {};
  for (const name of sess.inputNames) {
    const meta = sess.inputMetadata ? sess.inputMetadata.find((m) => m.name === name) : null;
    const type = meta && meta.type ? meta.type : 'float32';
    const dims = meta && meta.shape ? meta.shape.map((d) => (typeof d === 'number' ? d : 1)) : [1];
    const T = TYPED[type] || Float32Array;
    const n = dims.reduce((x, y) => x * y, 1);
    let data;
    if (files[name]) {
      const buf = fs.readFileSync(files[name]);
      data = new T(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    } else {
      data = new T(n);
    }
    feeds[name] = new ort.Tensor(type, data, dims);
  }
  await sess.run(feeds);
  const t2 = performance.now();
  for (let i = 0; i < warmup; i++) await sess.run(feeds);
  const runs = [];
  for (let i = 0; i < iters; i++) {
    const a = performance.now();
    await sess.run(feeds);
    runs.push(performance.now() - a);
  }
  console.log(JSON.stringify({ model, threads, session_ms: t1 - t0, first_ms: t2 - t1, since_start_ms: t2, runs_ms: runs }));
}

main().catch((e) => { console.error('ort_bench: ' + (e && e.message ? e.message : e)); process.exit(1); });
