// Browser test of the developer portal in real headless Chromium (Debian's
// chromium, driven by playwright-core; no browser download). It opens /docs
// on a running gateway (built-in mock upstream, auth.mode local-idp, so only
// a token of the mock's identity provider passes), checks that the three
// operations are listed and that the snippets shown are the ones the snippet
// test runs, gets a token with the console's "Get a token" button, sends
// check-username with it, a fault-injected list and a rating submission
// through the console, and fails on any request to another host and on any
// console error. The mock's page offers the token control too; a
// production-like gateway's (a real upstream) has neither it nor the fault
// controls. Screenshots go to out/portal/.
//
//   make test-browser        (or: node contracts/portal/_web/test/browser.mjs)
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build, outDir, start } from "./lib.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.log("browser tests skipped: install chromium (apt-get install -y chromium) and run make test-browser");
  process.exit(0);
}
const { chromium } = await import("playwright-core");

// The flags this machine needs: no GPU, no QUIC, and none of Chromium's own
// background traffic (it would count as requests to other hosts).
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const OPERATIONS = [
  { method: "GET", path: "/api/co/profile/check-username", summary: "Check username availability" },
  { method: "GET", path: "/api/co/rating", summary: "List my ratings" },
  { method: "POST", path: "/api/co/rating/rate/{booking_id}", summary: "Rate a booking" },
];

const normalise = (s) => s.replace(/\s+/g, " ").trim();
const began = Date.now();
const step = (what) => process.env.VERBOSE && console.log(`  ${((Date.now() - began) / 1000).toFixed(1)}s ${what}`);

async function sendFromConsole(page, { operation, fill = {}, status = "", delay = "" }) {
  await page.selectOption("#mb-op", operation);
  for (const [selector, value] of Object.entries(fill)) await page.fill(selector, value);
  if (await page.locator("#mb-fault-status").count()) {
    await page.selectOption("#mb-fault-status", status);
    await page.selectOption("#mb-fault-delay", delay);
  }
  const answered = page.waitForResponse((r) => r.url().includes("/api/co/") && r.request().method() !== "OPTIONS");
  await page.click("#mb-send");
  const response = await answered;
  await page.locator("#mb-status").waitFor();
  return {
    authorization: await response.request().headerValue("authorization"),
    status: await page.locator("#mb-status").textContent(),
    verdict: await page.locator(".mb-verdict").textContent(),
    body: await page.locator("#mb-response-body").textContent(),
    time: await page.locator(".mb-time").textContent(),
  };
}

async function checkPage(browser, kind, base, out) {
  const page = await browser.newPage();
  // Generous waits: these bound a hang, they do not measure speed. A busy CI
  // machine can take well over 30 s to parse the 4.8 MB renderer.
  page.setDefaultTimeout(120000);
  page.setDefaultNavigationTimeout(180000);
  await page.setViewportSize({ width: 1600, height: 1000 });
  const origin = new URL(base).origin;
  const foreign = [];
  const problems = [];
  // Every request to another host is recorded and refused, so a failing
  // check cannot leak anything either.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin !== origin) {
      foreign.push(url);
      return route.abort();
    }
    return route.continue();
  });
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // Chromium logs every 4xx/5xx answer as an error; those of the API are
    // the answers the console asked for (an injected fault) and are checked
    // below. Any other console error fails the test.
    if (m.text().startsWith("Failed to load resource") && new URL(m.location().url, origin).pathname.startsWith("/api/co/")) return;
    problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().includes("/api/co/")) problems.push(`${r.status()} for ${r.url()}`);
  });

  step("goto");
  await page.goto(`${base}/docs`, { waitUntil: "load" });
  await page.waitForFunction(() => window.minbilPortal?.ready === true, null, { timeout: 120000 });
  step("portal ready");
  const reference = page.locator("#mb-reference");
  await reference.getByText(OPERATIONS[2].summary).first().waitFor({ timeout: 120000 });

  step("reference rendered");
  // The three operations are listed: in the sidebar and quick index (summary)
  // and in the reference (method and path).
  for (const op of OPERATIONS) {
    assert.ok((await reference.getByText(op.summary).count()) >= 2, `${op.summary} is listed in the navigation and the reference`);
    assert.ok(await reference.getByText(op.path).first().isVisible().catch(() => true), `${op.path} is shown`);
  }
  const text = normalise(await reference.innerText());
  for (const op of OPERATIONS) assert.ok(text.includes(op.path), `the page names ${op.path}`);

  // The snippets the page shows are the snippets module's for this origin
  // (the ones test/snippets.mjs runs), with this base URL. The reference
  // renders an operation when it scrolls into view.
  const { operations, snippets } = await page.evaluate(() => ({
    operations: window.minbilPortal.operations.map((o) => ({ id: o.id, method: o.method, path: o.path })),
    snippets: window.minbilPortal.snippets,
  }));
  assert.deepEqual(operations.map((o) => `${o.method} ${o.path}`), OPERATIONS.map((o) => `${o.method} ${o.path}`));
  for (const op of operations) {
    const shown = normalise(snippets[op.id].axios);
    assert.ok(shown.includes(`?? "${origin}"`), `${op.id}: the snippet uses the serving base URL`);
    await page.locator(`[id$="/${op.method}${op.path}"]`).first().scrollIntoViewIfNeeded();
    await page.waitForFunction(
      (want) => [...document.querySelectorAll("#mb-reference pre")].some((e) => e.textContent.replace(/\s+/g, " ").includes(want)),
      shown,
      { timeout: 120000 },
    );
  }
  step("snippets seen");
  writeFileSync(path.join(out, `${kind}-snippets.json`), JSON.stringify(snippets, null, 2));
  await page.evaluate(() => window.scrollTo(0, 0));

  const results = {};
  if (kind === "gateway") {
    if ((await page.getAttribute("#mb-console-toggle", "aria-expanded")) !== "true") await page.click("#mb-console-toggle");
    await page.locator("#mb-console").waitFor();

    // The gateway verifies tokens: a made-up one is refused.
    results.refused = await sendFromConsole(page, {
      operation: "checkUsername",
      fill: { "#mb-token": "demo", "#mb-param-username": "frontend.dev" },
    });
    assert.match(results.refused.status, /^401/, `a made-up token is refused: ${results.refused.body}`);

    // One click gets a token of the mock's identity provider (sub demo: the
    // owner of booking 123, rated below) and makes it the console's.
    await page.locator("#mb-dev-token").waitFor();
    await page.fill("#mb-dev-sub", "demo");
    const minted = page.waitForResponse((r) => new URL(r.url()).pathname === "/_dev/token");
    await page.click("#mb-dev-get");
    const mintAnswer = await (await minted).json();
    assert.equal(mintAnswer.token_type, "Bearer");
    await page.locator("#mb-dev-expiry").waitFor();
    results.token = {
      expiresIn: mintAnswer.expires_in,
      status: normalise(await page.locator("#mb-dev-status").textContent()),
      field: await page.inputValue("#mb-token"),
    };
    assert.equal(results.token.field, mintAnswer.access_token, "the token fills the console's Bearer token");
    assert.equal(mintAnswer.expires_in, 3600);
    assert.match(results.token.status, /for demo set: expires in 1 h, at /, "the expiry is shown");
    await page.locator("#mb-dev-token").screenshot({ path: path.join(out, `${kind}-token.png`) });
    const expiry = Date.parse(await page.getAttribute("#mb-dev-expiry", "datetime"));
    assert.ok(Math.abs(expiry - (Date.now() + 3600e3)) < 120e3, `the expiry shown is in an hour: ${new Date(expiry).toISOString()}`);

    results.checkUsername = await sendFromConsole(page, {
      operation: "checkUsername",
      fill: { "#mb-param-username": "frontend.dev" },
    });
    assert.equal(results.checkUsername.authorization, `Bearer ${mintAnswer.access_token}`, "the console sends the minted token");
    assert.match(results.checkUsername.status, /^200/, `check-username with the minted token answers 200: ${results.checkUsername.body}`);
    assert.match(results.checkUsername.body, /"available": true/);
    assert.match(results.checkUsername.verdict, /contract ok/, "the gateway's answer carries X-Contract-Check: ok");

  step("check-username sent");
    results.fault = await sendFromConsole(page, { operation: "listRatings", status: "503", delay: "200ms" });
    assert.match(results.fault.status, /^503/, "the injected 503 reaches the console through the gateway");
    assert.match(results.fault.body, /"code": "upstream_unavailable"|"code": "injected_fault"/);
    assert.ok(Number.parseInt(results.fault.time, 10) >= 200, `the injected delay is felt (${results.fault.time})`);
    assert.match(results.fault.verdict, /contract ok/);

  step("fault sent");
    // The quick index leads to the operation, and the console follows.
    await reference.getByRole("link", { name: OPERATIONS[2].path }).first().click();
    await page.waitForFunction(() => document.querySelector("#mb-op").value === "rateBooking");
    results.rateBooking = await sendFromConsole(page, { operation: "rateBooking", fill: { "#mb-param-booking_id": "123" } });
    assert.match(results.rateBooking.status, /^200/, `the rating is stored: ${results.rateBooking.body}`);
    assert.match(results.rateBooking.body, /"booking_id": 123/);
    assert.match(results.rateBooking.body, /"service_rating": 5/);
    assert.match(results.rateBooking.verdict, /contract ok/);

    await page.waitForTimeout(500); // let the reference settle on the operation
  } else if (kind === "mock") {
    // The mock serves the identity provider too, so its page offers the
    // control.
    assert.equal(await page.locator("#mb-dev-token").count(), 1, "the mock's console offers Get a token");
  } else {
    // A gateway with a real upstream (production) has no development
    // routes: no token control, no fault controls, no control routes.
    assert.equal(await page.textContent("#mb-server"), "gateway");
    await page.locator("#mb-token").waitFor({ state: "attached" });
    assert.equal(await page.locator("#mb-dev-token").count(), 0, "a production gateway's console offers no Get a token");
    assert.equal(await page.locator("#mb-fault-status").count(), 0, "nor fault injection");
    assert.equal(await page.evaluate(() => window.minbilPortal.settings.devToken), undefined);
  }
  step("console done");
  const shot = path.join(out, `${kind}-docs.png`);
  await page.screenshot({ path: shot });

  assert.deepEqual(foreign, [], "no request left for another host");
  assert.deepEqual(problems, [], "the page logged no console error and every request succeeded");
  await page.close();
  return { shot, results };
}

build();
const out = outDir();
const userDataDir = mkdtempSync(path.join(os.tmpdir(), "minbil-portal-chromium-"));
const servers = [];
let context;
try {
  const gateway = await start("gateway", { env: { MINBIL_AUTH_MODE: "local-idp" } });
  servers.push(gateway);
  const mock = await start("mock");
  servers.push(mock);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
  });
  const gw = await checkPage(context, "gateway", gateway.base, out);
  console.log(`ok  gateway /docs: 3 operations listed, snippets shown, console: made-up token ${gw.results.refused.status}, ` +
    `Get a token (${gw.results.token.status}), check-username with it ${gw.results.checkUsername.status}, ` +
    `injected fault ${gw.results.fault.status} in ${gw.results.fault.time}, rating ${gw.results.rateBooking.status}; no foreign request, no console error`);
  console.log(`    screenshot ${path.relative(process.cwd(), gw.shot)}`);
  const mk = await checkPage(context, "mock", mock.base, out);
  console.log(`ok  mock /docs: 3 operations listed, snippets shown, Get a token offered; no foreign request, no console error`);
  console.log(`    screenshot ${path.relative(process.cwd(), mk.shot)}`);
  // A production-like gateway: a real upstream (nothing listens there; the
  // page sends no API request), so no development route at all.
  const production = await start("gateway", {
    env: { MINBIL_UPSTREAM_URL: "http://127.0.0.1:9", MINBIL_API_KEY: "browser-test-key", MINBIL_AUTH_MODE: "passthrough" },
  });
  servers.push(production);
  const pr = await checkPage(context, "production", production.base, out);
  console.log(`ok  production gateway /docs: 3 operations listed, snippets shown, no Get a token, no fault controls; no foreign request, no console error`);
  console.log(`    screenshot ${path.relative(process.cwd(), pr.shot)}`);
} finally {
  await context?.close();
  for (const s of servers) await s.stop();
  rmSync(userDataDir, { recursive: true, force: true });
}
