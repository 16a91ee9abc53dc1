// The developer portal page: reads the contract from the serving host,
// renders it with the embedded Scalar API Reference (snippets from
// snippets.js, base URL = this origin) and runs the console, which sends
// real requests to this origin. Nothing here talks to another host.
import { FLAVOURS, TOKEN_PLACEHOLDER, examplePath, operations, paramExample, resolve, snippets } from "./snippets.js";

const ORIGIN = window.location.origin;
const CONSOLE_OPEN_KEY = "minbil-portal.console-open";
// Response headers the console shows first, in this order.
const KEY_HEADERS = ["x-contract-check", "x-request-id", "x-cache", "age", "retry-after", "www-authenticate", "content-type"];
const DELAYS = ["", "200ms", "800ms", "2s", "5s"];

async function getJSON(url) {
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c != null) node.append(c);
  return node;
}

function serverLabel(settings) {
  if (settings.server === "mock") return "mock";
  return settings.faultControls ? "gateway · built-in mock" : "gateway";
}

function authLine(op) {
  switch (op.auth) {
    case "required":
      return "**Auth:** Bearer token (`Authorization: Bearer <token>`).";
    case "optional":
      return `**Auth:** ${op.authNote || "None (public endpoint)."} A Bearer token is optional; when sent it must be valid.`;
    default:
      return "**Auth:** None (public endpoint).";
  }
}

// The slug Scalar gives an operation (its default generateOperationSlug).
function anchor(spec, op) {
  const tag = spec.paths[op.path][op.method.toLowerCase()].tags?.[0] ?? "default";
  return `#tag/${tag.toLowerCase().replace(/[^a-z0-9]+/g, "-")}/${op.method}${op.path}`;
}

function intro(spec, ops, settings) {
  const index = ops
    .map((op) => `| \`${op.method}\` | [${op.path}](${anchor(spec, op)}) | ${op.summary} | ${op.auth === "required" ? "Bearer token" : "None (token optional)"} |`)
    .join("\n");
  const faults = settings.faultControls
    ? "\n- **Fault injection:** the console's *Fault* controls send `Prefer: code=NNN` and `X-Mock-Delay`, so you can see how your UI handles a 409, a 503 or a slow answer."
    : "";
  const stale = settings.server === "gateway"
    ? `\n- **The last good list while the upstream is down:** when the upstream fails \`GET /api/co/rating\` (a 5xx, a timeout, an open breaker), the gateway answers *your* last good list with \`X-Cache: STALE\` and \`Age\` (seconds), up to 5 minutes old by default (\`cache.ratings_stale_if_error\`), so your page keeps working; a 4xx such as 401 is never masked, anonymous callers get none, and a rating you make drops the kept list.${settings.faultControls ? " Try it here: list your ratings with a token, then send the list again with *Answer with* 503." : ""}`
    : "";
  const control = settings.control?.length
    ? `\n\n### Mock control routes\n\nNot part of the contract: they exist only on the mock (and on a development gateway in front of it), never on a real upstream. Send \`X-Mock-Session: <id>\` for a world of your own.\n\n| Method | Path | What it does |\n|---|---|---|\n${settings.control
        .map((r) => `| \`${r.method}\` | \`${r.path}\` | ${r.summary} |`)
        .join("\n")}`
    : "";
  return `This page is served by **minbil-bff** (${serverLabel(settings)}) and generated from the contract embedded in it, so it always matches what this server does. Every snippet and every console request goes to **\`${ORIGIN}\`**.

- Use auth and summary fields to configure your API client.
- Use code snippets as starter references, not production-ready final code.
- Validate critical mutations in the interactive **Console** (top right) before release.${faults}${stale}
- **Drift at a glance:** in development every gateway answer carries \`X-Contract-Check: ok\` or \`violations=N\` (the console shows it; so do the browser's dev tools).
- **TypeScript:** \`import type { paths, components } from "…/contracts/minbil-ratings";\` (generated from this contract).

### Endpoint quick index

| Method | Path | Summary | Auth |
|---|---|---|---|
${index}${control}

### About this contract

${spec.info.description ?? ""}`;
}

// decorate returns the copy of the contract that the page renders: this
// origin as the only server, the snippets as x-codeSamples, the auth line
// and the contract's recorded decisions in each description.
function decorate(spec, ops, settings) {
  const doc = structuredClone(spec);
  doc.servers = [{ url: ORIGIN, description: `This ${serverLabel(settings)}` }];
  doc.info.description = intro(spec, ops, settings);
  const all = snippets(spec, ORIGIN);
  for (const op of ops) {
    const target = doc.paths[op.path][op.method.toLowerCase()];
    const notes = [op.description.trim(), authLine(op)];
    if (target["x-assumption"]) {
      notes.push(`<details><summary>Decisions recorded in the contract</summary>\n\n${target["x-assumption"].trim()}\n\n</details>`);
    }
    target.description = notes.join("\n\n");
    target["x-codeSamples"] = FLAVOURS.map((f) => ({ lang: f.lang, label: f.label, source: all[op.id][f.key] }));
    // The example the snippets send comes first, so the reference opens on it.
    const media = resolve(doc, target.requestBody)?.content?.["application/json"];
    if (media?.examples?.valid) media.examples = { valid: media.examples.valid, ...media.examples };
  }
  return doc;
}

function mountReference(doc) {
  const target = document.getElementById("mb-reference");
  target.replaceChildren();
  target.removeAttribute("aria-busy");
  window.Scalar.createApiReference(target, {
    content: doc,
    theme: "default",
    layout: "modern",
    // Offline and same-origin only: no CDN fonts, no proxy, no telemetry,
    // no hosted AI agent, no link to the hosted API client.
    withDefaultFonts: false,
    telemetry: false,
    agent: { disabled: true },
    hideClientButton: true,
    showDeveloperTools: "never",
    persistAuth: false,
    // The console on the right sends requests; the reference shows
    // snippets from the contract (x-codeSamples) only.
    hideTestRequestButton: true,
    hiddenClients: true,
    documentDownloadType: "none",
    servers: doc.servers,
    baseServerURL: ORIGIN,
    defaultOpenAllTags: true,
    orderSchemaPropertiesBy: "preserve",
    orderRequiredPropertiesFirst: false,
    metaData: { title: "MinBil Ratings API · developer portal" },
  });
}

// ---------------------------------------------------------------- console

function statusClass(status) {
  if (status >= 500) return "mb-s5";
  if (status >= 400) return "mb-s4";
  if (status >= 200 && status < 300) return "mb-s2";
  return "mb-s0";
}

function pretty(text, contentType) {
  if (contentType?.includes("json")) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* shown as it came */
    }
  }
  return text;
}

// The payload of a JWT, or null.
function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return null;
  }
}

function lifetime(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

// tokenControl is the "Get a token" control, shown only where the
// development identity provider answers on this origin (settings.devToken:
// the mock, or a gateway in front of the built-in mock): it POSTs
// {"sub", "expires_in"} to the provider's shortcut and hands the access
// token to use(), which makes it the console's Bearer token.
function tokenControl(path, use) {
  const sub = el("input", {
    id: "mb-dev-sub", name: "sub", autocomplete: "off", spellcheck: "false",
    placeholder: "empty: the provider's default user",
  });
  const life = el(
    "select",
    { id: "mb-dev-life", name: "expires_in" },
    [3600, 300, 60, 86400].map((s) => el("option", { value: String(s), text: lifetime(s) })),
  );
  const get = el("button", { type: "button", id: "mb-dev-get", class: "mb-button" }, "Get a token");
  const status = el("p", { id: "mb-dev-status", class: "mb-hint", "aria-live": "polite" },
    "Signed RS256 by the mock's identity provider; sub is the owner, so each sub has bookings of its own (demo owns booking 123).");

  async function mint() {
    const body = { expires_in: Number(life.value) };
    if (sub.value.trim()) body.sub = sub.value.trim();
    get.disabled = true;
    status.className = "mb-hint";
    status.textContent = `POST ${path} …`;
    try {
      const res = await fetch(path, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      let answer = null;
      try {
        answer = JSON.parse(text);
      } catch {
        /* not JSON: shown as it came */
      }
      if (!res.ok || !answer?.access_token) {
        throw new Error(`${res.status} ${answer?.error?.message ?? text.slice(0, 200)}`.trim());
      }
      use(answer.access_token);
      const c = claims(answer.access_token);
      const expires = new Date((c?.exp ?? Date.now() / 1000 + answer.expires_in) * 1000);
      status.className = "mb-hint mb-dev-ok";
      status.replaceChildren(
        "Bearer token for ",
        el("code", { text: c?.sub ?? body.sub ?? "?" }),
        ` set: expires in ${lifetime(answer.expires_in)}, at `,
        el("time", { id: "mb-dev-expiry", datetime: expires.toISOString(), text: expires.toLocaleTimeString() }),
        ".",
      );
    } catch (err) {
      status.className = "mb-error";
      status.textContent = `No token: ${err.message}`;
    } finally {
      get.disabled = false;
    }
  }
  get.addEventListener("click", mint);
  sub.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      mint();
    }
  });
  return el(
    "fieldset",
    { id: "mb-dev-token", class: "mb-dev-token" },
    el("legend", { text: "Get a token (development identity provider)" }),
    el(
      "div",
      { class: "mb-row" },
      el("div", { class: "mb-field" }, el("label", { for: "mb-dev-sub", text: "sub" }), sub),
      el("div", { class: "mb-field" }, el("label", { for: "mb-dev-life", text: "Lifetime" }), life),
    ),
    el("div", { class: "mb-actions" }, get),
    status,
  );
}

function buildConsole(spec, ops, settings) {
  const aside = document.getElementById("mb-console");
  const toggle = document.getElementById("mb-console-toggle");
  const state = { op: ops[0] };

  const opSelect = el(
    "select",
    { id: "mb-op", name: "operation" },
    ops.map((op) => el("option", { value: op.id, text: `${op.method}  ${op.path}` })),
  );
  const token = el("input", {
    id: "mb-token", name: "token", type: "password", value: "demo", autocomplete: "off", spellcheck: "false",
    placeholder: TOKEN_PLACEHOLDER,
  });
  const showToken = el("button", { type: "button", class: "mb-link", text: "show", "aria-controls": "mb-token" });
  showToken.addEventListener("click", () => {
    const hidden = token.type === "password";
    token.type = hidden ? "text" : "password";
    showToken.textContent = hidden ? "hide" : "show";
  });
  const sendToken = el("input", { id: "mb-send-token", type: "checkbox", checked: true });
  const devToken = settings.devToken ? tokenControl(settings.devToken, (access) => {
    token.value = access;
    sendToken.checked = true;
  }) : null;
  const params = el("div", { class: "mb-params" });
  const bodyWrap = el("div", { class: "mb-field" });
  const body = el("textarea", { id: "mb-body", name: "body", rows: "6", spellcheck: "false" });
  bodyWrap.append(el("label", { for: "mb-body", text: "Body (JSON)" }), body);

  const faultStatus = el("select", { id: "mb-fault-status", name: "fault-status" });
  const faultDelay = el(
    "select",
    { id: "mb-fault-delay", name: "fault-delay" },
    DELAYS.map((d) => el("option", { value: d, text: d || "none" })),
  );
  const faults = settings.faultControls
    ? el(
        "fieldset",
        { class: "mb-faults" },
        el("legend", { text: "Fault injection (mock)" }),
        el(
          "div",
          { class: "mb-row" },
          el("div", { class: "mb-field" }, el("label", { for: "mb-fault-status", text: "Answer with" }), faultStatus),
          el("div", { class: "mb-field" }, el("label", { for: "mb-fault-delay", text: "Delay" }), faultDelay),
        ),
        el("p", { class: "mb-hint", text: "Sent as Prefer: code=NNN and X-Mock-Delay; the statuses are the ones this operation declares." }),
      )
    : null;

  const send = el("button", { type: "submit", id: "mb-send", class: "mb-button mb-primary" }, "Send request");
  const result = el("section", { id: "mb-response", class: "mb-response", "aria-live": "polite" },
    el("p", { class: "mb-hint", text: "The answer appears here: status, time, the X-Contract-Check verdict, headers and body." }));

  const form = el(
    "form",
    { id: "mb-console-form", autocomplete: "off" },
    el("div", { class: "mb-field" }, el("label", { for: "mb-op", text: "Operation" }), opSelect),
    el("p", { id: "mb-op-summary", class: "mb-hint" }),
    el(
      "div",
      { class: "mb-field" },
      el("label", { for: "mb-token" }, "Bearer token ", el("span", { class: "mb-hint", text: "(any token works on the mock; demo owns booking 123)" })),
      el("div", { class: "mb-inline" }, token, showToken),
      el("label", { class: "mb-check" }, sendToken, " Send Authorization header"),
    ),
    devToken,
    params,
    bodyWrap,
    faults,
    el("div", { class: "mb-actions" }, send, el("span", { class: "mb-hint", text: "Ctrl+Enter" })),
  );

  aside.append(
    el(
      "div",
      { class: "mb-console-head" },
      el("h2", { text: "Console" }),
      el("button", { type: "button", class: "mb-close", "aria-label": "Close the console", text: "×", onclick: () => setOpen(false) }),
    ),
    el("p", { class: "mb-hint mb-target" }, "Real requests to ", el("code", { text: ORIGIN })),
    form,
    result,
  );

  function selectOp(op) {
    state.op = op;
    opSelect.value = op.id;
    document.getElementById("mb-op-summary").textContent = `${op.summary}. Auth: ${op.auth === "required" ? "Bearer token required" : "token optional"}.`;
    sendToken.checked = op.auth === "required" || token.value !== "demo";
    params.replaceChildren(
      ...op.params
        .filter((p) => p.in !== "header" || p.name !== "X-Request-ID")
        .map((p) => {
          const id = `mb-param-${p.name}`;
          const value = p.in === "header" ? "" : String(paramExample(spec, p));
          const input = el("input", { id, name: p.name, "data-in": p.in, value, spellcheck: "false", placeholder: p.in === "header" ? "optional" : "" });
          const label = el("label", { for: id }, p.name, el("span", { class: "mb-tag", text: p.in }));
          const row = el("div", { class: "mb-field" }, label, input);
          if (p.name === "Idempotency-Key") {
            row.append(
              el("button", { type: "button", class: "mb-link", text: "new key", onclick: () => (input.value = crypto.randomUUID?.() ?? String(Date.now())) }),
            );
          }
          return row;
        }),
    );
    bodyWrap.hidden = op.body === undefined;
    body.value = op.body === undefined ? "" : JSON.stringify(op.body, null, 2);
    faultStatus.replaceChildren(
      el("option", { value: "", text: "normal answer" }),
      ...op.errorStatuses.map((s) => el("option", { value: String(s), text: String(s) })),
    );
  }

  async function run(event) {
    event?.preventDefault();
    const op = state.op;
    const values = {};
    const headers = { Accept: "application/json" };
    for (const input of params.querySelectorAll("input")) {
      if (input.dataset.in === "header") {
        if (input.value.trim()) headers[input.name] = input.value.trim();
      } else {
        values[input.name] = input.value;
      }
    }
    if (sendToken.checked && token.value.trim()) headers.Authorization = `Bearer ${token.value.trim()}`;
    if (settings.faultControls && faultStatus.value) headers.Prefer = `code=${faultStatus.value}`;
    if (settings.faultControls && faultDelay.value) headers["X-Mock-Delay"] = faultDelay.value;
    const init = { method: op.method, headers };
    if (op.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = body.value;
    }
    const url = ORIGIN + examplePath(spec, op, values);
    send.disabled = true;
    result.replaceChildren(el("p", { class: "mb-hint", text: `${op.method} ${url} …` }));
    const started = performance.now();
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      showAnswer(op, url, res, text, Math.round(performance.now() - started));
    } catch (err) {
      result.replaceChildren(el("p", { class: "mb-error", text: `The request failed: ${err.message}` }));
    } finally {
      send.disabled = false;
    }
  }

  function showAnswer(op, url, res, text, ms) {
    const check = res.headers.get("x-contract-check");
    const verdict = check
      ? el("span", { class: `mb-verdict ${check === "ok" ? "mb-ok" : "mb-bad"}`, title: "X-Contract-Check: this answer validated against the contract" },
          check === "ok" ? "✓ contract ok" : `✗ contract ${check}`)
      : el("span", { class: "mb-verdict mb-none", title: "Only a gateway with the built-in mock upstream checks its answers" }, "not checked");
    const names = [...res.headers.keys()].sort();
    const key = KEY_HEADERS.filter((h) => names.includes(h));
    const pairs = (list) => list.map((h) => [el("dt", { text: h }), el("dd", { text: res.headers.get(h) })]);
    result.replaceChildren(
      el(
        "div",
        { class: "mb-status-line" },
        el("span", { id: "mb-status", class: `mb-status ${statusClass(res.status)}`, text: `${res.status} ${res.statusText}`.trim() }),
        el("span", { class: "mb-time", text: `${ms} ms` }),
        verdict,
      ),
      el("p", { class: "mb-hint mb-url" }, el("code", { text: `${op.method} ${url.slice(ORIGIN.length)}` })),
      el("dl", { class: "mb-key-headers" }, pairs(key)),
      el("details", { class: "mb-headers" }, el("summary", { text: `All headers (${names.length})` }), el("dl", {}, pairs(names))),
      el("pre", { id: "mb-response-body", class: "mb-body" }, el("code", { text: pretty(text, res.headers.get("content-type")) || "(empty body)" })),
    );
    aside.scrollTo({ top: result.offsetTop - 12 });
  }

  function setOpen(open) {
    aside.hidden = !open;
    document.body.classList.toggle("mb-console-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    try {
      localStorage.setItem(CONSOLE_OPEN_KEY, open ? "1" : "0");
    } catch {
      /* private mode: the state is not remembered */
    }
  }

  opSelect.addEventListener("change", () => selectOp(ops.find((o) => o.id === opSelect.value)));
  form.addEventListener("submit", run);
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(e);
  });
  toggle.addEventListener("click", () => setOpen(aside.hidden));
  // Follow the operation the reader navigates to in the reference.
  window.addEventListener("hashchange", () => {
    const m = /\/(GET|POST|PUT|PATCH|DELETE)(\/.+)$/i.exec(decodeURIComponent(window.location.hash));
    const op = m && ops.find((o) => o.method === m[1].toUpperCase() && o.path === m[2]);
    if (op && op !== state.op) selectOp(op);
  });

  selectOp(ops[0]);
  let remembered = null;
  try {
    remembered = localStorage.getItem(CONSOLE_OPEN_KEY);
  } catch {
    /* private mode */
  }
  setOpen(remembered === null ? window.innerWidth >= 1280 : remembered === "1");
  return { selectOp, setOpen, run };
}

async function main() {
  const [spec, settings] = await Promise.all([getJSON("/docs/openapi.json"), getJSON("/docs/portal.json")]);
  const ops = operations(spec);
  document.getElementById("mb-server").textContent = serverLabel(settings);
  document.getElementById("mb-base").textContent = ORIGIN;
  document.getElementById("mb-server").dataset.kind = settings.server;
  mountReference(decorate(spec, ops, settings));
  const consoleAPI = buildConsole(spec, ops, settings);
  // For tests and the curious: what the page rendered from.
  window.minbilPortal = { spec, operations: ops, snippets: snippets(spec, ORIGIN), settings, console: consoleAPI, ready: true };
}

main().catch((err) => {
  const target = document.getElementById("mb-reference");
  target.replaceChildren(el("p", { class: "mb-error", text: `The portal could not load: ${err.message}` }));
  throw err;
});
