// llama.cpp parity of tandem's GGUF export, on a trained demo-shaped model:
//   - every type (F32, F16, BF16, Q8_0, Q4_0) exports, loads in llama.cpp and reads back;
//   - llama.cpp tokenizes each chat prompt (special tokens on) into tandem's ids;
//   - greedy continuations of PROMPTS arithmetic chat prompts, TOKENS tokens each (no stop at
//     <|im_end|>): F32 must equal tandem's on every prompt, F16 on at least 90% of them;
//     BF16, Q8_0 and Q4_0 are reported (tokens agreeing before the first divergence), also
//     against tandem running the file's own dequantized weights (import);
//   - the F32 file imported back gives tandem's own tokens exactly.
// Usage: node llama_parity.mjs <gguf_runner> <model dir> <work dir> [PROMPTS] [TOKENS]
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { agree, closeModel, greedy, loadLlama, openModel, runner } from "./llama_peer.mjs";

const [bin, modelDir, work] = process.argv.slice(2, 5);
const nPrompts = Number(process.argv[5] ?? 20);
const nTokens = Number(process.argv[6] ?? 64);
if (!bin || !modelDir || !work) {
  console.log("usage: node llama_parity.mjs <gguf_runner> <model dir> <work dir> [PROMPTS] [TOKENS]");
  process.exit(2);
}
const llama = await loadLlama();
mkdirSync(work, { recursive: true });

const greedyOf = (dir) => JSON.parse(runner(bin, ["greedy", dir, String(nPrompts), String(nTokens)])).prompts;
const expected = greedyOf(modelDir);
const failures = [];

async function check(type) {
  const file = join(work, `demo-${type}.gguf`);
  process.stdout.write(runner(bin, ["export", modelDir, file, type]));
  const imported = join(work, `demo-${type}-import`);
  rmSync(imported, { recursive: true, force: true });
  runner(bin, ["import", file, imported]);
  const own = greedyOf(imported);  // tandem on the file's (dequantized) weights

  const m = await openModel(llama, file);
  let tokOk = 0, same = 0, sameOwn = 0;
  const prefixes = [];
  for (const [i, p] of expected.entries()) {
    const ids = Array.from(m.model.tokenize(p.text, true));
    if (agree(ids, p.ids) === ids.length && ids.length === p.ids.length) ++tokOk;
    else console.log(`  ${type} prompt ${i}: llama.cpp tokens ${JSON.stringify(ids)} != tandem ${JSON.stringify(p.ids)}`);
    const got = await greedy(m, p.ids, nTokens);
    const k = agree(got, p.greedy);
    prefixes.push(k);
    if (k === nTokens) ++same;
    else console.log(`  ${type} prompt ${i} (level ${p.level}): diverges at token ${k}: llama.cpp ` +
                     `${got[k]} vs tandem ${p.greedy[k]} (tandem's top-2 logit gap there ` +
                     `${p.margins[k].toFixed(4)}; smallest gap before it ` +
                     `${Math.min(...p.margins.slice(0, k + 1)).toFixed(4)})`);
    if (agree(got, own[i].greedy) === nTokens) ++sameOwn;
  }
  await closeModel(m);
  const n = expected.length;
  console.log(`${type}: tokenization ${tokOk}/${n} prompts equal; greedy ${same}/${n} prompts ` +
              `identical over ${nTokens} tokens (vs tandem on the dequantized file: ${sameOwn}/${n}); ` +
              `tokens agreeing before the first divergence per prompt: [${prefixes.join(" ")}]`);
  if (tokOk !== n) failures.push(`${type}: llama.cpp tokenized ${n - tokOk} prompts differently`);
  return { same, sameOwn, own, n };
}

const f32 = await check("f32");
if (f32.same !== f32.n) failures.push(`f32: ${f32.n - f32.same} prompts differ from tandem`);
const roundTrip = f32.own.filter((p, i) => agree(p.greedy, expected[i].greedy) === nTokens).length;
console.log(`f32 import round trip: ${roundTrip}/${f32.n} prompts give tandem's own tokens`);
if (roundTrip !== f32.n) failures.push("f32: the imported file does not reproduce the model");
const f16 = await check("f16");
if (f16.same < 0.9 * f16.n) failures.push(`f16: only ${f16.same}/${f16.n} prompts identical (need 90%)`);
for (const type of ["bf16", "q8_0", "q4_0"]) await check(type);

console.log(failures.length ? `FAIL: ${failures.join("; ")}` : "PASS");
process.exit(failures.length ? 1 : 0);
