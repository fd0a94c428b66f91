#!/usr/bin/env node
// Reference logits from llama.cpp (npm node-llama-cpp, prebuilt CPU binaries):
//   node tests/tools/llama_logits.js MODEL.gguf IDS OUT.bin
//   node tests/tools/llama_logits.js MODEL.gguf --tokenize TEXT   (prints {"ids": [...]})
// Evaluates the comma-separated token ids IDS at positions 0.. in one batch
// (F32 KV cache, flash attention off, 1 thread) and writes float32 logits
// [positions][vocab] to OUT.bin. Prints {"n_vocab":V,"positions":N} on stdout.
"use strict";
const fs = require("fs");

async function main() {
    const [modelPath, idsArg, outPath] = process.argv.slice(2);
    if (!modelPath || !idsArg || !outPath) {
        process.stderr.write("usage: llama_logits.js MODEL.gguf IDS OUT.bin\n");
        process.exit(2);
    }
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    if (idsArg === "--tokenize") { // MODEL --tokenize TEXT: llama.cpp's tokenization (no BOS), as JSON
        const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
            logLevel: LlamaLogLevel.error });
        const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
        process.stdout.write(JSON.stringify({ ids: Array.from(model.tokenize(outPath)) }) + "\n");
        await model.dispose();
        await llama.dispose();
        return;
    }
    const ids = idsArg.split(",").map((s) => parseInt(s, 10));
    const llama = await getLlama({
        gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
        logLevel: LlamaLogLevel.error, maxThreads: 1,
    });
    const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
    const context = await model.createContext({
        contextSize: Math.max(256, ids.length + 8), batchSize: Math.max(512, ids.length), threads: 1,
        flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
    });
    const seq = context.getSequence();
    const input = ids.map((t) => [t, { generateNext: { logits: true } }]);
    const res = await seq.controlledEvaluate(input);
    let nVocab = 0;
    for (const r of res) if (r && r.next && r.next.logits) nVocab = Math.max(nVocab, r.next.logits.size);
    const out = new Float32Array(ids.length * nVocab);
    res.forEach((r, i) => {
        if (!r || !r.next || !r.next.logits) throw new Error("no logits for position " + i);
        for (const [tok, v] of r.next.logits) out[i * nVocab + tok] = v;
    });
    fs.writeFileSync(outPath, Buffer.from(out.buffer));
    process.stdout.write(JSON.stringify({ n_vocab: nVocab, positions: ids.length }) + "\n");
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
    process.exit(1);
});
