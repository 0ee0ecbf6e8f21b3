// llama.cpp as an independent reference, through node-llama-cpp's prebuilt CPU binaries
// (`npm install --prefix tests/peers`). Nothing is built or downloaded at run time
// (build: "never", skipDownload); exits 77 (CTest SKIP_RETURN_CODE) when the package is absent.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const peers = join(root, "tests", "peers");

export async function loadLlama(threads = 1) {
  const require = createRequire(join(peers, "package.json"));
  let entry;
  try {
    entry = require.resolve("node-llama-cpp");
  } catch {
    console.log("SKIP: node-llama-cpp is not installed; run `npm install --prefix tests/peers`");
    process.exit(77);
  }
  const { getLlama, LlamaLogLevel } = await import(entry);
  // One thread by default: ggml's threads spin-wait at every op, which on a loaded 2-core machine
  // turns a 60 ms generation into minutes; results do not depend on the thread count.
  return getLlama({ gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
                    maxThreads: threads, logLevel: LlamaLogLevel.error, progressLogs: false });
}

// A model and one sequence with a float32 KV cache (llama.cpp's default is F16, which would
// round every cached key and value).
export async function openModel(llama, path, contextSize = 256, threads = 1) {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: Math.min(contextSize, model.trainContextSize), sequences: 1, threads,
    batchSize: 512, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
  return { model, context, sequence: context.getSequence() };
}

// Greedy (temperature 0: argmax) continuation of `ids`, exactly n tokens: end-of-generation
// tokens are yielded and fed back like any other, as tandem's runner does.
export async function greedy(m, ids, n) {
  await m.sequence.clearHistory();
  const out = [];
  if (n <= 0) return out;
  for await (const tok of m.sequence.evaluate(ids, { temperature: 0, yieldEogToken: true })) {
    out.push(tok);
    if (out.length >= n) break;
  }
  return out;
}

export async function closeModel(m) {
  await m.context.dispose();
  await m.model.dispose();
}

// tandem's side, one thread as well (its results do not depend on the count either).
export function runner(bin, args, input) {
  const out = execFileSync(bin, args, { input, maxBuffer: 1 << 28, stdio: ["pipe", "pipe", "inherit"],
                                        env: { ...process.env, OMP_NUM_THREADS: "1" } });
  return out.toString();
}

export function exists(path) {
  return existsSync(path);
}

// Length of the common prefix of two arrays.
export function agree(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) ++i;
  return i;
}
