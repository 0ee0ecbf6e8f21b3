// The web chat page in headless Chromium (Debian's, driven by playwright-core): load it from
// `tandem serve`, ask a question, wait for the streamed answer, check the reasoning sits collapsed
// above it, stop a second answer midway, and save a screenshot to look at.
// Usage: node web_chat.mjs <tandem> <model dir> <screenshot.png>
import { existsSync } from "node:fs";
import { loadPeer, startServer } from "./serve_peer.mjs";

const [tandem, model, shot] = process.argv.slice(2, 5);
if (!tandem || !model || !shot) {
  console.log("usage: node web_chat.mjs <tandem> <model dir> <screenshot.png>");
  process.exit(2);
}
const chromium_path = "/usr/bin/chromium";
if (!existsSync(chromium_path)) {
  console.log("SKIP: no /usr/bin/chromium (Debian package chromium; scripts/setup installs it)");
  process.exit(77);
}
const playwright = await loadPeer("playwright-core");
const chromium = playwright.chromium ?? playwright.default.chromium;  // a CommonJS package
const failures = [];
const check = (ok, what) => { console.log(`${ok ? "ok  " : "FAIL"} ${what}`); if (!ok) failures.push(what); };

const server = await startServer(tandem, model, ["--slots", "2"]);
// The flags a sandboxed, offline machine needs: no sandbox (root), no GPU, and nothing that
// phones home (its connections are refused here, many at a time).
const browser = await chromium.launch({
  executablePath: chromium_path, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(server.base + "/");
  await page.waitForFunction(() => document.getElementById("model").textContent.includes("model"));
  check(true, `page loaded, model: ${await page.textContent("#model")}`);

  await page.fill("#prompt", "What is 27 + 48?");
  await page.press("#prompt", "Enter");
  // While streaming the Stop button shows; when done the reply is marked.
  await page.waitForSelector(".msg.assistant[data-done='1']", { timeout: 60000 });
  const answer = await page.textContent(".msg.assistant .body");
  const reasoning = await page.textContent(".msg.assistant details.reasoning pre");
  const open = await page.getAttribute(".msg.assistant details.reasoning", "open");
  check(answer.trim().length > 0,
        `streamed answer shown: ${JSON.stringify(answer.trim())} ${await page.textContent(".msg.assistant")}`);
  check(reasoning.trim().length > 0 && open === null,
        `reasoning collapsed above it (${reasoning.trim().split("\n").length} lines)`);
  const stats = await page.textContent(".msg.assistant .stats");
  check(/chunks in/.test(stats), `streamed in chunks: ${stats}`);

  // A long answer, stopped: the page says so and the server frees the slot.
  await page.click("header details summary");  // the settings
  await page.fill("#max_tokens", "150");
  await page.dispatchEvent("#max_tokens", "change");
  await page.fill("#temperature", "1");
  await page.dispatchEvent("#temperature", "change");
  await page.fill("#prompt", "Count to a hundred");
  // The demo model answers in milliseconds: press Stop from inside the page at the first streamed
  // text, reasoning or answer, as a person would press it mid-answer. (Waiting for the answer's
  // text lost the race on a fast machine: the few tokens after the reasoning came in the same read
  // as the end of the stream, which then finished before the click.)
  await page.evaluate(() => {
    const streamed = () => {
      const reply = document.querySelectorAll(".msg.assistant")[1];
      return reply && [...reply.querySelectorAll("pre, .body")].some((e) => e.textContent.length > 0);
    };
    const watch = new MutationObserver(() => {
      if (streamed()) { document.getElementById("stop").click(); watch.disconnect(); }
    });
    watch.observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
  });
  await page.press("#prompt", "Enter");
  await page.waitForSelector(".msg.assistant[data-done='1'] >> nth=1", { timeout: 30000 });
  const stopped = await page.textContent(".msg.assistant >> nth=1 >> .stats");
  check(stopped === "stopped", `stop button ends the stream: ${JSON.stringify(stopped)}`);
  let busy = "";
  for (let i = 0; i < 40; ++i) {
    busy = (await (await fetch(server.base + "/metrics")).text()).match(/tandem_busy_slots (\d+)/)[1];
    if (busy === "0") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  check(busy === "0", "slot freed after stop");
  // The screenshot shows the first question and its answer.
  await page.click("header details summary");  // close the settings
  await page.evaluate(() => { document.getElementById("log").scrollTop = 0; });
  await page.screenshot({ path: shot });
  check(existsSync(shot), `screenshot: ${shot}`);
  check(errors.length === 0, `no page errors${errors.length ? ": " + errors.join("; ") : ""}`);
} finally {
  await browser.close();
  await server.stop();
}
console.log(`web chat: ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
