// Helpers of the portal's Node tests: build the real binary, run it on a
// free loopback port, wait until it answers, stop it.
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
/** Where tests write what they leave behind (gitignored). */
export const OUT = path.join(ROOT, "out", "portal");
/** The binary under test: $MINBIL_BFF_BIN, else bin/minbil-bff built here. */
export const BIN = process.env.MINBIL_BFF_BIN ?? path.join(ROOT, "bin", "minbil-bff");

/** Builds the binary unless MINBIL_BFF_BIN names one. */
export function build() {
  if (process.env.MINBIL_BFF_BIN) return;
  execFileSync("go", ["build", "-o", BIN, "./cmd/minbil-bff"], { cwd: ROOT, stdio: "inherit" });
}

export function outDir() {
  mkdirSync(OUT, { recursive: true });
  return OUT;
}

// Servers still running when this process ends (a failed assertion, an
// interrupt) are killed, so a test never leaves one behind.
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(130));
}

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await once(srv, "close");
  return port;
}

// The environment of a started binary: no MINBIL_* setting of the caller's
// shell leaks into the defaults the tests rely on.
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MINBIL_")));
}

/**
 * Starts `minbil-bff serve` (kind "gateway", the built-in mock upstream and
 * dev auth unless env says otherwise) or `minbil-bff mock` on 127.0.0.1 and
 * waits until /docs answers. env adds variables (MINBIL_AUTH_MODE).
 * Returns { base, stop, output }.
 */
export async function start(kind, { env = {} } = {}) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const args = kind === "mock" ? ["mock", "--addr", addr] : ["serve", "--addr", addr];
  const child = spawn(BIN, args, { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  running.add(child);
  const exited = once(child, "exit").then(() => running.delete(child));
  const base = `http://${addr}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${base}/docs/portal.json`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${kind} did not answer on ${base} within 15s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  async function stop() {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
    await exited;
    clearTimeout(timer);
  }
  return { base, stop, output: () => output };
}

/** Fetches the contract as the page does and returns it parsed. */
export async function contract(base) {
  const res = await fetch(`${base}/docs/openapi.json`);
  if (!res.ok) throw new Error(`GET ${base}/docs/openapi.json: ${res.status}`);
  return res.json();
}
