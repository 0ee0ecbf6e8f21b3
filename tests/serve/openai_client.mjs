// `tandem serve` through OpenAI's official client (npm `openai`) on a trained demo-shaped model:
//   1. greedy chat completions give `tandem generate`'s tokens, with its log-probabilities, for
//      20 arithmetic prompts;
//   2. a seed reproduces a sampled answer, another seed changes some;
//   3. streamed answers are the non-streamed ones (content, reasoning, finish reason);
//   4. text completions, n choices, usage and the models list are what the client expects.
// Usage: node openai_client.mjs <tandem> <model dir>
import { execFileSync } from "node:child_process";
import { loadPeer, startServer } from "./serve_peer.mjs";

const [tandem, model] = process.argv.slice(2, 4);
if (!tandem || !model) {
  console.log("usage: node openai_client.mjs <tandem> <model dir>");
  process.exit(2);
}
const { default: OpenAI } = await loadPeer("openai");
const failures = [];
const check = (ok, what) => { console.log(`${ok ? "ok  " : "FAIL"} ${what}`); if (!ok) failures.push(what); };

// Held-out-style arithmetic questions, as the demo model was trained on.
const prompts = [];
for (let i = 0; i < 20; ++i) {
  const a = 11 + ((i * 37) % 80), b = 3 + ((i * 53) % 90);
  prompts.push(i % 3 === 0 ? `What is ${a} + ${b}?` : i % 3 === 1 ? `What is ${a} - ${b}?` : `What is ${a} * ${i % 9 + 1}?`);
}
const maxTokens = 64;

// tandem generate's greedy tokens and log-probabilities ("  id text logprob" lines).
function generated(prompt) {
  const out = execFileSync(tandem, ["generate", model, "-p", prompt, "--logprobs", "--max-new-tokens",
                                    String(maxTokens)], { encoding: "utf8" });
  const ids = [], lps = [];
  for (const line of out.split("\n")) {
    const m = /^\s+(\d+) .* (-?\d+\.\d{4})$/.exec(line);
    if (m) { ids.push(Number(m[1])); lps.push(Number(m[2])); }
  }
  return { ids, lps };
}

const server = await startServer(tandem, model, ["--slots", "4"]);
const client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: "unused" });
try {
  const models = await client.models.list();
  const id = models.data[0].id;
  check(models.data.length === 1, `models.list: ${id}`);

  // 1. Greedy chat == tandem generate, tokens and logprobs.
  let same = 0, lpSame = 0, worst = 0;
  for (const p of prompts) {
    const r = await client.chat.completions.create({
      model: id, messages: [{ role: "user", content: p }], temperature: 0, max_tokens: maxTokens,
      logprobs: true });
    const ids = r.choices[0].logprobs.content.map((t) => t.token_id);
    const lps = r.choices[0].logprobs.content.map((t) => t.logprob);
    const g = generated(p);
    const eq = ids.length === g.ids.length && ids.every((t, k) => t === g.ids[k]);
    same += eq;
    if (eq) {
      const diff = Math.max(0, ...lps.map((l, k) => Math.abs(l - g.lps[k])));
      worst = Math.max(worst, diff);
      // generate prints 4 decimals (up to 5e-5 off); the server batches other rows beside the
      // request, which may move a float log-probability by a few ulps (1e-5 covers that for
      // values down to -100, and is far below a real error).
      lpSame += diff <= 5e-5 + 1e-5;
    } else {
      console.log(`  differs: ${JSON.stringify(p)}\n    server   ${ids.join(" ")}\n    generate ${g.ids.join(" ")}`);
    }
  }
  check(same === prompts.length, `greedy chat tokens equal tandem generate's: ${same}/${prompts.length}`);
  check(lpSame === same, `logprobs equal generate --logprobs (4 decimals): ${lpSame}/${same}, max |diff| ${worst.toExponential(2)}`);

  // 2. Seeds.
  const sampled = (seed) => client.chat.completions.create({
    model: id, messages: [{ role: "user", content: prompts[1] }], temperature: 1, seed, max_tokens: maxTokens });
  const a = await sampled(7), b = await sampled(7);
  check(a.choices[0].message.content === b.choices[0].message.content &&
        a.choices[0].message.reasoning_content === b.choices[0].message.reasoning_content,
        "seed 7 twice: the same sampled answer");
  const others = await Promise.all([8, 9, 10, 11].map(sampled));
  check(others.some((o) => o.choices[0].message.reasoning_content !== a.choices[0].message.reasoning_content),
        "other seeds: other samples");

  // 3. Streamed == whole.
  let streamedSame = 0;
  for (const p of prompts.slice(0, 6)) {
    for (const temperature of [0, 0.8]) {
      const body = { model: id, messages: [{ role: "user", content: p }], temperature, seed: 3, max_tokens: maxTokens };
      const whole = (await client.chat.completions.create(body)).choices[0];
      const stream = await client.chat.completions.create({ ...body, stream: true });
      let content = "", reasoning = "", finish = null;
      for await (const chunk of stream) {
        const c = chunk.choices[0];
        if (!c) continue;
        content += c.delta?.content ?? "";
        reasoning += c.delta?.reasoning_content ?? "";
        finish = c.finish_reason ?? finish;
      }
      const eq = content === whole.message.content && reasoning === (whole.message.reasoning_content ?? "") &&
                 finish === whole.finish_reason;
      streamedSame += eq;
      if (!eq) console.log(`  stream differs for ${JSON.stringify(p)} T=${temperature}`);
    }
  }
  check(streamedSame === 12, `streamed answers equal non-streamed: ${streamedSame}/12`);

  // 4. Text completions, choices, usage.
  const c = await client.completions.create({ model: id, prompt: "12+7=", max_tokens: 8, temperature: 0, logprobs: 2 });
  check(c.object === "text_completion" && c.choices[0].logprobs.tokens.length === c.usage.completion_tokens,
        `completions: ${JSON.stringify(c.choices[0].text)} (${c.usage.completion_tokens} tokens)`);
  const n = await client.chat.completions.create({ model: id, messages: [{ role: "user", content: prompts[0] }],
                                                   n: 3, temperature: 1, seed: 1, max_tokens: 16 });
  check(n.choices.length === 3 && n.choices.map((x) => x.index).join() === "0,1,2", "n = 3 choices");
  let status = 0;
  try {
    await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
  } catch (e) { status = e.status; }
  check(status === 404, `unknown model: the client raises ${status}`);
} finally {
  await server.stop();
  check(true, "SIGTERM: exit 0");
}
console.log(`openai client: ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
