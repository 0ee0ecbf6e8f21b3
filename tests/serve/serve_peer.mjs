// Shared by the scripts that drive `tandem serve` from outside: start a server on a free port and
// wait until it answers, stop it with SIGTERM (it must exit 0), and load test peers installed in
// tests/peers (`npm install --prefix tests/peers`). A script whose peer is missing exits 77
// (CTest SKIP_RETURN_CODE).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const peers = join(root, "tests", "peers");

export async function loadPeer(name) {
  const require = createRequire(join(peers, "package.json"));
  try {
    return await import(require.resolve(name));
  } catch {
    console.log(`SKIP: ${name} is not installed; run \`npm install --prefix tests/peers\``);
    process.exit(77);
  }
}

// Starts `tandem serve <model> --port 0 <args>`; resolves once /health says ok.
export async function startServer(tandem, model, args = [], env = {}) {
  const proc = spawn(tandem, ["serve", model, "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let log = "";
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'listening on' line in 30 s:\n${log}`)), 30000);
    const onData = (d) => {
      log += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    proc.stderr.on("data", onData);
    proc.stdout.on("data", (d) => { log += d; });
    proc.on("exit", (code) => reject(new Error(`tandem serve exited ${code}:\n${log}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; ++i) {
    const ok = await fetch(`${base}/health`).then((r) => r.ok).catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    base, port, proc, log: () => log,
    async stop() {
      proc.kill("SIGTERM");
      const { code, signal } = await exited;
      if (code !== 0) throw new Error(`tandem serve exited ${code ?? signal} on SIGTERM:\n${log}`);
    },
  };
}

// Peak resident memory of a process, from /proc (kB -> MB).
export function peakRssMb(pid) {
  try {
    const status = require_fs().readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
function require_fs() { return createRequire(import.meta.url)("node:fs"); }
