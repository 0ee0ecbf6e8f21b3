// `tandem serve` under load, beside offline `tandem generate` on the same prompts, in one run.
//
// For each model (a directory, or a preset name: a model of that shape trained one step; speed
// does not depend on what was learned):
//   1. offline: `tandem generate --slots S` on all CLIENTS x REQUESTS prompts (greedy, MAX tokens),
//      with the engine's THREADS kernel threads, and again with every core;
//   2. served: CLIENTS concurrent streaming clients on loopback, REQUESTS each, one after another,
//      the same prompts and settings through POST /v1/chat/completions (`tandem serve --threads
//      THREADS`): tokens/s, time to first token and inter-token latency (p50, p99), failed
//      requests, the server's peak RSS; and the ratio served / offline tokens/s.
//      THREADS defaults to all cores but one, what `tandem serve` gives its engine: the core left
//      runs HTTP and, here, the clients themselves. So the ratio at equal THREADS is the cost of
//      serving; the one against every core also counts the core the clients take;
//   3. overload: 4x more clients than slots + queue at once: how many got 429 (with Retry-After)
//      and how many were reset (none may be), and whether every admitted one completed;
//   4. clients killed mid-stream (SIGKILL): the metrics show their slots freed and them cancelled.
// The load generator (bench/serve_client.cpp, native so it takes little of the CPU it shares with
// the server on a small machine; keep-alive connections, as clients pool them) is bounded: it
// sends its prompts and stops. Throughput figures are the best of --repeat runs.
//
//   node bench/serve_load.mjs [--tandem build/tandem] [--client build/bench/serve_client]
//        [--models demo,25m] [--clients 64] [--requests 10] [--slots 16] [--max 64]
//        [--threads CORES-1] [--repeat 3]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { peakRssMb, startServer } from "../tests/serve/serve_peer.mjs";

import { cpus } from "node:os";
const opt = { tandem: "build/tandem", client: "", models: "demo,25m", clients: 64, requests: 10, slots: 16,
              max: 64, threads: Math.max(1, cpus().length - 1), repeat: 3 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in opt) || process.argv[i + 1] === undefined) {
    console.log("usage: node bench/serve_load.mjs [--tandem build/tandem] [--client build/bench/serve_client] " +
                "[--models demo,25m] [--clients 64] [--requests 10] [--slots 16] [--max 64] [--threads CORES-1] [--repeat 3]");
    process.exit(2);
  }
  opt[key] = typeof opt[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!opt.client) opt.client = join(dirname(opt.tandem), "bench", "serve_client");
const allCores = { ...process.env };
delete allCores.OMP_NUM_THREADS;
const env = { ...allCores, OMP_NUM_THREADS: String(opt.threads) };

function tandem(args, input = "", environment = env) {
  const r = spawnSync(opt.tandem, args, { env: environment, input, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${opt.tandem} ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
  return { out: r.stdout.toString(), err: r.stderr.toString() };
}

const prompts = [];
for (let i = 0; i < opt.clients * opt.requests; ++i) {
  const a = 10 + ((i * 37) % 89), b = 2 + ((i * 53) % 97);
  prompts.push(i % 2 ? `What is ${a} + ${b}?` : `What is ${a} * ${i % 9 + 1}?`);
}
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
const ms = (s) => `${(s * 1000).toFixed(1)} ms`;

function offline(model, environment = env) {
  let best = null;
  for (let r = 0; r < opt.repeat; ++r) {
    const { err } = tandem(["generate", model, "--slots", String(opt.slots), "--max-new-tokens", String(opt.max),
                            "--timing"], prompts.join("\n") + "\n", environment);
    const m = /(\d+) generated tokens in ([\d.]+) s: [\d.]+ tokens\/s; peak RSS ([\d.]+) MB/.exec(err);
    const run = { tokens: Number(m[1]), seconds: Number(m[2]), tps: Number(m[1]) / Number(m[2]), rss: Number(m[3]) };
    if (!best || run.tps > best.tps) best = run;
  }
  return best;
}

// One streaming chat request (node's fetch: a second, independent client); resolves with its
// outcome, or {status} when refused.
async function streamOnce(base, prompt) {
  const start = performance.now();
  let res;
  try {
    res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: opt.max,
                             stream: true, stream_options: { include_usage: true } }) });
  } catch (e) {
    return { error: String(e) };
  }
  if (res.status !== 200) {
    await res.text();
    return { status: res.status, retryAfter: res.headers.get("retry-after") };
  }
  const reader = res.body.getReader(), decoder = new TextDecoder();
  let buffer = "", first = null, last = null, tokens = 0, done = false;
  const gaps = [];
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data: ")) continue;
        if (event === "data: [DONE]") { done = true; continue; }
        const chunk = JSON.parse(event.slice(6));
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
        const d = chunk.choices[0]?.delta;
        if (d && (d.content || d.reasoning_content)) {
          const now = performance.now();
          if (first === null) first = now; else gaps.push((now - last) / 1000);
          last = now;
        }
      }
    }
  } catch (e) {
    return { error: String(e) };
  }
  return { status: 200, done, tokens, ttft: ((first ?? performance.now()) - start) / 1000 };
}

async function served(model) {
  const server = await startServer(opt.tandem, model, ["--slots", String(opt.slots), "--queue", String(opt.clients),
                                                       "--threads", String(opt.threads)], allCores);
  try {
    let best = null;
    for (let r = 0; r < opt.repeat; ++r) {
      const run = spawnSync(opt.client, [String(server.port), String(opt.clients), String(opt.max)],
                            { input: prompts.join("\n") + "\n", maxBuffer: 1 << 28 });
      const j = JSON.parse(run.stdout.toString());
      const res = { tokens: j.tokens, seconds: j.seconds, tps: j.tokens / j.seconds, failed: j.failed,
                    ttft: j.ttft, gaps: j.gaps };
      if (run.status !== 0 && j.failed === 0) throw new Error(`serve_client exited ${run.status}: ${run.stderr}`);
      if (!best || res.failed > best.failed || (res.failed === best.failed && res.tps > best.tps)) best = res;
    }
    return { ...best, rss: peakRssMb(server.proc.pid) };
  } finally {
    await server.stop();
  }
}

async function overload(model) {
  const slots = 4, queue = 4, clients = 4 * (slots + queue);
  const server = await startServer(opt.tandem, model, ["--slots", String(slots), "--queue", String(queue)], allCores);
  try {
    const outs = await Promise.all(Array.from({ length: clients }, (_, i) => streamOnce(server.base, prompts[i])));
    const ok = outs.filter((o) => o.status === 200), busy = outs.filter((o) => o.status === 429 || o.status === 503);
    return { clients, capacity: slots + queue, ok: ok.length, completed: ok.filter((o) => o.done).length,
             busy: busy.length, retryAfter: busy.every((o) => o.retryAfter !== null),
             resets: outs.filter((o) => o.error).length, other: outs.length - ok.length - busy.length - outs.filter((o) => o.error).length };
  } finally {
    await server.stop();
  }
}

// Clients that stream and are killed with SIGKILL mid-answer; then the metrics.
async function killed(model) {
  const kills = 4;
  const server = await startServer(opt.tandem, model, ["--slots", String(kills)], allCores);
  try {
    // Answers to the end of the context (ignore_eos): long enough to be cut.
    const script = `fetch(process.argv[1] + "/v1/completions", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({prompt: "Count", temperature: 1, ignore_eos: true, stream: true})})
      .then(async (r) => { const rd = r.body.getReader(); await rd.read(); console.log("streaming"); for (;;) await rd.read(); });`;
    const children = Array.from({ length: kills }, () => spawn(process.execPath, ["-e", script, server.base],
                                                                 { stdio: ["ignore", "pipe", "inherit"] }));
    await Promise.all(children.map((c) => new Promise((resolve) => c.stdout.once("data", resolve))));
    const metric = async (name) => Number((await (await fetch(server.base + "/metrics")).text())
      .match(new RegExp(`^${name} (\\d+)`, "m"))[1]);
    const busyBefore = await metric("tandem_busy_slots");
    for (const c of children) c.kill("SIGKILL");
    const t0 = performance.now();
    let busy = busyBefore, cancelled = 0;
    while (performance.now() - t0 < 5000) {
      busy = await metric("tandem_busy_slots");
      cancelled = await metric("tandem_requests_cancelled_total");
      if (busy === 0 && cancelled >= kills) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { kills, busyBefore, busy, cancelled, freedMs: performance.now() - t0 };
  } finally {
    await server.stop();
  }
}

const work = mkdtempSync(join(tmpdir(), "tandem-serve-bench-"));
const rows = [];
try {
  for (const name of opt.models.split(",")) {
    let model = name;
    if (!existsSync(name)) {  // a preset: a model of that shape, trained one step
      tandem(["train", "--preset", name, "--steps", "1", "--batch", "1", "--eval-every", "0",
              "--checkpoint-every", "0", "--out", join(work, name)]);
      model = join(work, name, "model");
    }
    const off = offline(model);
    const offAll = offline(model, allCores);
    const on = await served(model);
    const over = await overload(model);
    const kill = await killed(model);
    rows.push({ name, off, offAll, on, over, kill });
    console.log(`${name}: served ${on.tps.toFixed(0)} tok/s vs offline ${off.tps.toFixed(0)} tok/s ` +
                `(${(on.tps / off.tps).toFixed(2)}x), ${on.failed} failed; overload: ${over.ok} served ` +
                `(${over.completed} completed), ${over.busy} told to retry, ${over.resets} reset; ` +
                `killed ${kill.kills}: busy ${kill.busyBefore} -> ${kill.busy}, cancelled ${kill.cancelled} in ${kill.freedMs.toFixed(0)} ms`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`\n${opt.clients} streaming clients x ${opt.requests} requests, ${opt.slots} slots, greedy, ` +
            `max ${opt.max} tokens; engine ${opt.threads} thread(s) of ${cpus().length} cores:\n`);
console.log(`| model | served tok/s | offline tok/s, ${opt.threads} thread(s) | ratio | offline tok/s, all cores | ratio | ` +
            "failed | TTFT p50 / p99 | inter-token p50 / p99 | server peak RSS | generate peak RSS |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.name} | ${r.on.tps.toFixed(0)} | ${r.off.tps.toFixed(0)} | **${(r.on.tps / r.off.tps).toFixed(2)}x** | ` +
              `${r.offAll.tps.toFixed(0)} | ${(r.on.tps / r.offAll.tps).toFixed(2)}x | ` +
              `${r.on.failed} / ${opt.clients * opt.requests} | ${ms(pct(r.on.ttft, 0.5))} / ${ms(pct(r.on.ttft, 0.99))} | ` +
              `${ms(pct(r.on.gaps, 0.5))} / ${ms(pct(r.on.gaps, 0.99))} | ${r.on.rss.toFixed(0)} MB | ${r.off.rss.toFixed(0)} MB |`);
console.log("\n| model | overload: clients / capacity | served (completed) | 429 with Retry-After | resets | " +
            "killed clients | busy slots before -> after | cancelled |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.name} | ${r.over.clients} / ${r.over.capacity} | ${r.over.ok} (${r.over.completed}) | ` +
              `${r.over.busy}${r.over.retryAfter ? "" : " (some without!)"} | ${r.over.resets} | ${r.kill.kills} | ` +
              `${r.kill.busyBefore} -> ${r.kill.busy} (${r.kill.freedMs.toFixed(0)} ms) | ${r.kill.cancelled} |`);
const bad = rows.some((r) => r.on.failed > 0 || r.over.resets > 0 || r.over.completed !== r.over.ok || r.kill.busy !== 0);
process.exit(bad ? 1 : 0);
