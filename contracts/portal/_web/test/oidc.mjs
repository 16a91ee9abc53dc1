// A frontend's own OIDC library signs in against the gateway in local-idp
// mode, unchanged: oidc-client-ts (pinned in package.json).
//
// In Node (always): its OidcClient builds the authorization request (PKCE
// S256), the test reads the login page as a browser would and submits a
// username, and the library exchanges the code, validates the id token and
// refreshes with the refresh token; the API accepts each access token.
//
// In headless Chromium (Debian's chromium, driven by playwright-core; skipped
// when it is not installed): its UserManager runs in an app served from
// another origin (127.0.0.1, another port), as a Vite or React dev server
// would be, discovers the provider through the gateway, redirects to the
// login page, where the test types a username, comes back with a code,
// exchanges it, calls the API, refreshes and calls it again. Every
// cross-origin call goes through the gateway's CORS.
//
//   make test-oidc        (or: node contracts/portal/_web/test/oidc.mjs)
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { once } from "node:events";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { build, outDir, start } from "./lib.mjs";

import { InMemoryWebStorage, OidcClient, WebStorageStateStore } from "oidc-client-ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const require = createRequire(import.meta.url);
const OIDC_BUNDLE = readFileSync(
  path.join(path.dirname(require.resolve("oidc-client-ts/package.json")), "dist/browser/oidc-client-ts.min.js"),
);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// The app: one page that starts the sign-in, one callback page that ends it
// and uses the tokens. The settings are what a frontend would write.
function appPage(authority, appBase, script) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>app</title>
<script src="/oidc-client-ts.js"></script></head><body><pre id="out">working</pre><script>
const mgr = new oidc.UserManager({
  authority: ${JSON.stringify(authority)},
  client_id: "minbil-web",
  redirect_uri: ${JSON.stringify(appBase + "/callback")},
  response_type: "code",
  scope: "openid profile offline_access",
});
const api = (token) => fetch(${JSON.stringify(authority + "/api/co/rating")}, { headers: { Authorization: "Bearer " + token } });
(async () => { ${script} })().catch((e) => { window.result = { error: String(e && e.stack || e) }; });
</script></body></html>`;
}

const SIGN_IN = `await mgr.signinRedirect({ state: { from: "test" } });`;
const CALLBACK = `
  const user = await mgr.signinRedirectCallback();
  const first = await api(user.access_token);
  const list = await first.json();
  const renewed = await mgr.signinSilent();
  const second = await api(renewed.access_token);
  window.result = {
    sub: user.profile.sub, state: user.state, idToken: !!user.id_token, refresh: !!user.refresh_token,
    first: first.status, total: (list.data ?? list).total,
    renewedSub: renewed.profile.sub, rotated: renewed.refresh_token !== user.refresh_token,
    newAccess: renewed.access_token !== user.access_token, second: second.status,
  };
  document.getElementById("out").textContent = JSON.stringify(window.result);`;

async function serveApp(authority) {
  const server = http.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const appBase = `http://127.0.0.1:${server.address().port}`;
  server.on("request", (req, res) => {
    const { pathname } = new URL(req.url, appBase);
    if (pathname === "/oidc-client-ts.js") {
      res.writeHead(200, { "Content-Type": "text/javascript" }).end(OIDC_BUNDLE);
    } else if (pathname === "/" || pathname === "/callback") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" })
        .end(appPage(authority, appBase, pathname === "/" ? SIGN_IN : CALLBACK));
    } else {
      res.writeHead(404).end();
    }
  });
  return { appBase, close: () => new Promise((r) => server.close(r)) };
}

const VERSION = require("oidc-client-ts/package.json").version;

async function api(base, token) {
  const res = await fetch(`${base}/api/co/rating`, { headers: { Authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

// unescapeHTML reads an attribute value html/template wrote.
const unescapeHTML = (s) => s.replace(/&(#(\d+)|amp|lt|gt|quot|apos);/g, (m, name, code) =>
  code ? String.fromCharCode(Number(code)) : { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[name]);

async function signInWithNode(base) {
  const client = new OidcClient({
    authority: base,
    client_id: "minbil-node",
    redirect_uri: "http://127.0.0.1:5173/callback", // never loaded: the test reads the redirect
    response_type: "code",
    scope: "openid offline_access",
    stateStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
  });
  const request = await client.createSigninRequest({ state: { from: "node" } });
  assert.ok(request.url.startsWith(`${base}/authorize?`), `the library found the gateway's authorize endpoint: ${request.url}`);
  assert.match(request.url, /code_challenge_method=S256/);

  // The login page, then its form submitted with a username, as a browser does.
  const page = await fetch(request.url, { redirect: "manual" });
  const html = await page.text();
  assert.equal(page.status, 200, `login page: ${html}`);
  const form = new URL("authorize", request.url);
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    form.searchParams.append(unescapeHTML(name), unescapeHTML(value));
  }
  form.searchParams.set("login_hint", "ola");
  const signedIn = await fetch(form, { redirect: "manual" });
  assert.equal(signedIn.status, 302, "the login redirects to the app");
  const callback = signedIn.headers.get("location");
  assert.ok(callback.startsWith("http://127.0.0.1:5173/callback?"), callback);

  const response = await client.processSigninResponse(callback);
  assert.equal(response.profile.sub, "ola", "signed in as the username typed");
  assert.deepEqual(response.userState, { from: "node" }, "the app's state came back");
  assert.ok(response.id_token && response.refresh_token, "an id token and a refresh token");
  assert.equal(await api(base, response.access_token), 200, "the API accepts the access token");

  const refreshed = await client.useRefreshToken({
    state: { refresh_token: response.refresh_token, id_token: response.id_token, session_state: null,
      scope: response.scope, profile: response.profile, data: undefined },
  });
  assert.ok(refreshed.access_token && refreshed.access_token !== response.access_token, "a new access token");
  assert.notEqual(refreshed.refresh_token, response.refresh_token, "the refresh token rotates");
  assert.equal(await api(base, refreshed.access_token), 200, "the API accepts the refreshed access token");
  await assert.rejects(
    client.useRefreshToken({ state: { refresh_token: response.refresh_token, profile: response.profile, data: undefined } }),
    (e) => e.error === "invalid_grant",
    "a used refresh token is refused",
  );
  console.log(`ok  oidc-client-ts ${VERSION} (Node) signs in against the gateway (local-idp): ` +
    `login page, code + PKCE, API 200, refresh, API 200, used refresh token refused`);
}

build();
const out = outDir();
let gateway, app, context, userDataDir;
try {
  gateway = await start("gateway", { env: { MINBIL_AUTH_MODE: "local-idp" } });
  await signInWithNode(gateway.base);
  if (existsSync(CHROMIUM)) await signInWithChromium();
  else console.log("    the Chromium part is skipped: install chromium (apt-get install -y chromium) and run make test-oidc");
} finally {
  await context?.close();
  await app?.close();
  await gateway?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}

async function signInWithChromium() {
  const { chromium } = await import("playwright-core");
  userDataDir = mkdtempSync(path.join(os.tmpdir(), "minbil-oidc-chromium-"));
  app = await serveApp(gateway.base);
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A failed load is reported by its URL below; the browser's own
  // favicon requests do not count.
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && !r.url().endsWith("/favicon.ico") && errors.push(`${r.status()} ${r.url()}`));

  await page.goto(app.appBase + "/");
  await page.waitForURL((u) => u.href.startsWith(gateway.base + "/authorize"), { timeout: 15000 });
  await page.screenshot({ path: path.join(out, "oidc-login.png") });
  await page.fill("#username", "kari");
  await page.click("#sign-in");
  await page.waitForURL((u) => u.href.startsWith(app.appBase + "/callback"), { timeout: 15000 });
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 15000 });
  const result = await page.evaluate(() => window.result);

  assert.equal(result.error, undefined, `the app failed: ${result.error}`);
  assert.equal(result.sub, "kari", "signed in as the username typed");
  assert.deepEqual(result.state, { from: "test" }, "the app's state came back");
  assert.ok(result.idToken && result.refresh, "an id token and a refresh token");
  assert.equal(result.first, 200, "the API accepts the access token");
  assert.equal(typeof result.total, "number", "the API answered kari's list");
  assert.equal(result.renewedSub, "kari", "the refresh keeps the user");
  assert.ok(result.rotated && result.newAccess, "the refresh returns new tokens");
  assert.equal(result.second, 200, "the API accepts the refreshed access token");
  assert.deepEqual(errors, [], "no error in the browser console");
  console.log(`ok  oidc-client-ts ${VERSION} (Chromium) signs in against the gateway (local-idp) ` +
    `from ${app.appBase}: login page, code + PKCE, API ${result.first}, refresh, API ${result.second}`);
}
