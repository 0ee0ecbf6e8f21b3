// Parity: tandem's token ids must equal the reference's on every corpus file, with 1 and 2
// threads. Usage: node parity.mjs <path to tandem binary> [corpus dir]
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadReference, root, tokenizerJson } from "./qwen3_reference.mjs";

const tandem = process.argv[2];
const corpus = process.argv[3] ?? join(root, "tests", "tokenizer", "corpus");
const ref = loadReference();
let bytes = 0, tokens = 0, failed = 0;
for (const name of readdirSync(corpus).filter((f) => f.endsWith(".txt")).sort()) {
  const path = join(corpus, name);
  const text = readFileSync(path, "utf8");
  const expected = ref.encode(text, { add_special_tokens: false });
  for (const threads of [1, 2]) {
    const out = execFileSync(tandem, ["tokenize", "-t", tokenizerJson, "-i", path, "-f", "json",
                                      "-j", String(threads)], { maxBuffer: 1 << 28 });
    const got = JSON.parse(out.toString());
    let i = 0;
    while (i < expected.length && i < got.length && expected[i] === got[i]) ++i;
    if (i === expected.length && i === got.length) continue;
    ++failed;
    const window = (ids) => JSON.stringify(ids.slice(Math.max(0, i - 3), i + 4));
    console.log(`MISMATCH ${name} (threads ${threads}) at token ${i}: reference ${window(expected)} ` +
                `tandem ${window(got)}; reference text around it: ` +
                JSON.stringify(ref.decode(expected.slice(Math.max(0, i - 3), i + 4))));
  }
  bytes += Buffer.byteLength(text);
  tokens += expected.length;
  console.log(`ok ${name}: ${expected.length} tokens`);
}
console.log(`${failed ? "FAIL" : "PASS"}: ${bytes} bytes, ${tokens} reference tokens, ` +
            `${failed} mismatching runs`);
process.exit(failed ? 1 : 0);
