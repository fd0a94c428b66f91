#!/usr/bin/env node
// llama.cpp side of `make bench` (through node-llama-cpp, CPU only): prefill
// of N prompt tokens and greedy decode of M tokens, printed as one JSON line.
//
//   node bench/llama_bench.mjs MODEL.gguf --threads T [--prompt-tokens N] [--decode M] [--vocab V]
//
// The KV cache uses node-llama-cpp's default type (f16, llama.cpp's default).
// Prefill is one batch of N tokens (batch size N); decode feeds one token at a
// time. Token ids are a fixed pattern below the vocabulary size, no tokenizer.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { getLlama } = await import(path.join(here, '..', 'node_modules', 'node-llama-cpp', 'dist', 'index.js'));

const argv = process.argv.slice(2);
let model = null, threads = 1, nPrompt = 128, nDecode = 32, vocab = 256;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--threads') threads = parseInt(argv[++i], 10);
  else if (a === '--prompt-tokens') nPrompt = parseInt(argv[++i], 10);
  else if (a === '--decode') nDecode = parseInt(argv[++i], 10);
  else if (a === '--vocab') vocab = parseInt(argv[++i], 10);
  else model = a;
}
if (!model) { console.error('usage: llama_bench.mjs MODEL.gguf --threads T'); process.exit(2); }

try {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const m = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
  const ctx = await m.createContext({ contextSize: nPrompt + nDecode + 16, threads, batchSize: nPrompt });
  const seq = ctx.getSequence();
  const tokens = Array.from({ length: nPrompt }, (_, i) => 3 + ((i * 7919) % (vocab - 3)));
  const a = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(tokens);
  const b = performance.now();
  let n = 0;
  const c = performance.now();
  for await (const t of seq.evaluate([tokens[0]], { temperature: 0 })) { void t; if (++n >= nDecode) break; }
  const e = performance.now();
  console.log(JSON.stringify({
    model, threads, kv_cache: 'f16 (default)', prompt_tokens: nPrompt, prefill_ms: b - a,
    prefill_tps: nPrompt / ((b - a) / 1000), decode_tokens: n, decode_ms: e - c, decode_tps: n / ((e - c) / 1000),
  }));
  await ctx.dispose();
  await m.dispose();
  await llama.dispose();
} catch (e) {
  console.error('llama_bench: ' + (e && e.message ? e.message : e));
  process.exit(1);
}
