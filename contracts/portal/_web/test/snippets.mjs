// Executable documentation: runs every code snippet the /docs page shows
// (Node.js axios, fetch and cURL, built by the page's own snippets module
// from the contract the server serves, with that server's base URL) as it
// is, against the mock and against the gateway, and requires a 2xx answer.
// Each flavour gets a fresh server, because rating booking 123 succeeds once.
//
//   make test-snippets       (or: node contracts/portal/_web/test/snippets.mjs)
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { FLAVOURS, snippets } from "../../assets/snippets.js";
import { ROOT, build, contract, outDir, start } from "./lib.mjs";

const dir = path.join(outDir(), "snippets");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
// The axios snippet imports "axios": resolve it from the pinned tools.
symlinkSync(path.join(ROOT, "contracts", "portal", "_web", "node_modules"), path.join(dir, "node_modules"), "dir");

try {
  execFileSync("curl", ["--version"], { stdio: "ignore" });
} catch {
  throw new Error("the cURL snippets need curl (apt-get install -y curl)");
}

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MINBIL_")));

// Runs one snippet file; resolves to { status, stdout, stderr }.
function run(file, flavour) {
  const [cmd, args] = flavour === "curl" ? ["sh", [file]] : [process.execPath, [file]];
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: dir, env, encoding: "utf8", timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

// What a snippet printed as its answer: "STATUS DATA" for the JavaScript
// ones, the body for cURL (which exits non-zero on 4xx/5xx).
function check(label, flavour, res) {
  const out = `${res.stdout}${res.stderr}`.trim();
  assert.equal(res.status, 0, `${label} exited with ${res.status}:\n${out}`);
  if (flavour === "curl") {
    assert.doesNotThrow(() => JSON.parse(res.stdout), `${label} printed no JSON body:\n${out}`);
    return "2xx";
  }
  const status = Number.parseInt(res.stdout, 10);
  assert.ok(status >= 200 && status < 300, `${label} answered ${status}:\n${out}`);
  return String(status);
}

// One server per target and flavour; the six run side by side, each
// flavour's snippets in the page's order.
async function runFlavour(kind, flavour) {
  const server = await start(kind);
  try {
    const all = snippets(await contract(server.base), server.base);
    const seen = [];
    for (const [id, code] of Object.entries(all)) {
      const file = path.join(dir, `${kind}.${id}.${flavour.key}.${flavour.key === "curl" ? "sh" : "mjs"}`);
      writeFileSync(file, code[flavour.key]);
      seen.push(`${id} ${check(`${kind} ${flavour.label} ${id}`, flavour.key, await run(file, flavour.key))}`);
    }
    return `ok  ${kind.padEnd(7)} ${flavour.label.padEnd(13)} ${seen.join(", ")}`;
  } finally {
    await server.stop();
  }
}

build();
const runs = ["mock", "gateway"].flatMap((kind) => FLAVOURS.map((flavour) => runFlavour(kind, flavour)));
const results = await Promise.allSettled(runs);
for (const r of results) console.log(r.status === "fulfilled" ? r.value : `FAIL ${r.reason.message}`);
const failed = results.filter((r) => r.status === "rejected");
if (failed.length) {
  console.error(`${failed.length} of ${results.length} snippet runs failed`);
  process.exit(1);
}
console.log(`${results.length * 3} snippets ran as shown on /docs and succeeded (files in ${path.relative(process.cwd(), dir)})`);
