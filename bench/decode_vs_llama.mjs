// Decoding speed: tandem vs llama.cpp on the same model, side by side in one run.
//
// For each model shape (demo, 25m; random weights: speed does not depend on what was learned),
// tandem writes the model, exports it to GGUF F32 (`tandem export --format gguf`), and both
// engines continue the same chat prompt greedily for exactly TOKENS tokens, not stopping at end of
// turn (llama.cpp gets tandem's own prompt ids, which it reproduces: ctest -R gguf.llama_parity).
//   - one sequence (latency): tokens/s over the whole continuation, prompt processing included;
//   - BATCH sequences at once (serving): tandem's continuous batching; llama.cpp, as driven here
//     through node-llama-cpp, decodes one sequence per context, so this row is tandem's alone.
// Same thread count for both (--threads: OMP_NUM_THREADS for tandem, llama.cpp's threads).
// Each figure is the best of --repeat runs, after one warm-up run. Peak RSS: tandem's own
// ru_maxrss (`tandem generate --timing`); llama.cpp runs inside this node process, so its figure is
// the process's peak minus node's own peak before llama.cpp was loaded.
//
//   node bench/decode_vs_llama.mjs [--tandem build/tandem] [--tokens 256] [--threads 1]
//        [--repeat 3] [--batch 16] [--presets demo,25m]
// Needs `npm install --prefix tests/peers` (scripts/setup does it); nothing is downloaded.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeModel, greedy, loadLlama, openModel } from "../tests/gguf/llama_peer.mjs";

const opt = { tandem: "build/tandem", tokens: 256, threads: 1, repeat: 3, batch: 16, presets: "demo,25m" };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in opt) || process.argv[i + 1] === undefined) {
    console.log("usage: node bench/decode_vs_llama.mjs [--tandem build/tandem] [--tokens 256] " +
                "[--threads 1] [--repeat 3] [--batch 16] [--presets demo,25m]");
    process.exit(2);
  }
  opt[key] = typeof opt[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const env = { ...process.env, OMP_NUM_THREADS: String(opt.threads) };
const prompt = "What is 487 * 4?";

function tandem(args, input = "") {
  const r = spawnSync(opt.tandem, args, { env, input, maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.error(`${opt.tandem} ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
    process.exit(1);
  }
  return { out: r.stdout.toString(), err: r.stderr.toString() };
}

// `tandem generate --timing`: "timing: P prompts, N prompt tokens, G generated tokens in S s: ...;
// peak RSS R MB". Best of opt.repeat runs after a warm-up.
function tandemDecode(dir, sequences) {
  const args = ["generate", dir, "--max-new-tokens", String(opt.tokens), "--ignore-eos", "--timing",
                "--slots", String(sequences)];
  let best = null;
  for (let r = 0; r <= opt.repeat; ++r) {
    const { err } = tandem(args, (prompt + "\n").repeat(sequences));
    const m = /(\d+) generated tokens in ([\d.]+) s: [\d.]+ tokens\/s; peak RSS ([\d.]+) MB/.exec(err);
    if (!m) throw new Error(`no timing line from tandem generate:\n${err}`);
    const res = { tps: Number(m[1]) / Number(m[2]), rss: Number(m[3]) };
    if (r > 0 && (!best || res.tps > best.tps)) best = res;
  }
  return best;
}

async function llamaDecode(llama, file, ids) {
  const m = await openModel(llama, file, ids.length + opt.tokens + 8, opt.threads);
  let best = 0;
  for (let r = 0; r <= opt.repeat; ++r) {
    const start = process.hrtime.bigint();
    const got = await greedy(m, ids, opt.tokens);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (got.length !== opt.tokens) throw new Error(`llama.cpp gave ${got.length} tokens`);
    if (r > 0) best = Math.max(best, opt.tokens / seconds);
  }
  await closeModel(m);
  return best;
}

const nodeRss = () => process.resourceUsage().maxRSS / 1024;
const rssBeforeLlama = nodeRss();
const llama = await loadLlama(opt.threads);
const work = mkdtempSync(join(tmpdir(), "tandem-decode-bench-"));
const rows = [];
try {
  for (const preset of opt.presets.split(",")) {
    const dir = join(work, preset);
    tandem(["train", "--preset", preset, "--steps", "1", "--batch", "1", "--eval-every", "0",
            "--checkpoint-every", "0", "--out", dir]);
    const model = join(dir, "model"), file = join(work, `${preset}.gguf`);
    tandem(["export", model, "--format", "gguf", "--type", "f32", "-o", file]);
    const chat = join(work, "chat.json");
    writeFileSync(chat, JSON.stringify({ messages: [{ role: "user", content: prompt }], add_generation_prompt: true }));
    const ids = tandem(["tokenize", "-t", join(model, "tokenizer.json"), "--chat", chat]).out
      .trim().split(/\s+/).map(Number);
    const one = tandemDecode(model, 1);
    const many = tandemDecode(model, opt.batch);
    const peer = await llamaDecode(llama, file, ids);
    // Models run smallest first, so the process's peak so far is this model's.
    rows.push({ preset, one, many, peer, peerRss: nodeRss() - rssBeforeLlama });
    console.log(`${preset}: 1 sequence: tandem ${one.tps.toFixed(0)} tok/s, llama.cpp ${peer.toFixed(0)} tok/s ` +
                `(${(one.tps / peer).toFixed(2)}x); ${opt.batch} sequences: tandem ${many.tps.toFixed(0)} tok/s`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`\n${opt.tokens} greedy tokens after a ${prompt.length}-character chat prompt, ${opt.threads} thread(s), ` +
            `best of ${opt.repeat}:\n`);
console.log("| model | tandem tok/s (1 seq) | llama.cpp tok/s (1 seq) | ratio | tandem peak RSS | " +
            `llama.cpp peak RSS | tandem tok/s (${opt.batch} seq) | tandem peak RSS (${opt.batch} seq) |`);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.preset} | ${r.one.tps.toFixed(0)} | ${r.peer.toFixed(0)} | **${(r.one.tps / r.peer).toFixed(2)}x** | ` +
              `${r.one.rss.toFixed(0)} MB | ${r.peerRss.toFixed(0)} MB | ${r.many.tps.toFixed(0)} | ${r.many.rss.toFixed(0)} MB |`);
console.log(`\nllama.cpp's RSS is this node process's peak above node's own ${rssBeforeLlama.toFixed(0)} MB.`);
