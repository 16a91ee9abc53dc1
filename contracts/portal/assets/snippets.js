// Operations and code snippets derived from the contract (the JSON form of
// contracts/openapi.yaml). The page shows these snippets, and the snippet
// test (contracts/portal/_web/test/snippets.mjs) imports this same module and
// runs what it returns, so what the page shows is executable documentation.
// Plain ES module: no dependencies, runs in the browser and in Node.js.

const METHODS = ["get", "put", "post", "delete", "patch"];

/** The placeholder token of the snippets; a dev gateway and the mock accept any token. */
export const TOKEN_PLACEHOLDER = "YOUR_BEARER_TOKEN";

/** Follows local $refs ("#/components/...") until a real object. */
export function resolve(spec, node) {
  let seen = 0;
  while (node && typeof node.$ref === "string" && seen++ < 32) {
    node = node.$ref
      .replace(/^#\//, "")
      .split("/")
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce((o, k) => (o == null ? o : o[k]), spec);
  }
  return node;
}

/**
 * Lists the operations of the contract in document order, with what the page
 * and the console need: method, path, auth, parameters, request example and
 * the error statuses the operation declares.
 */
export function operations(spec) {
  const out = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => resolve(spec, p));
      const security = op.security ?? spec.security ?? [];
      const body = resolve(spec, op.requestBody);
      out.push({
        id: op.operationId,
        method: method.toUpperCase(),
        path,
        summary: op.summary ?? "",
        description: op.description ?? "",
        authNote: op["x-auth-note"] ?? "",
        // auth: "required", "optional" (a token is accepted, not needed) or "none".
        auth: security.length === 0 ? "none" : security.some((s) => Object.keys(s).length === 0) ? "optional" : "required",
        params,
        body: body ? requestExample(spec, body) : undefined,
        errorStatuses: Object.keys(op.responses ?? {})
          .filter((s) => /^[45]\d\d$/.test(s))
          .map(Number),
      });
    }
  }
  return out;
}

/** The example value of a parameter: its example, else its schema's. */
export function paramExample(spec, p) {
  if (p.example !== undefined) return p.example;
  const first = p.examples && Object.values(p.examples)[0];
  if (first) return resolve(spec, first).value;
  const schema = resolve(spec, p.schema) ?? {};
  return schema.example ?? schema.default ?? "";
}

// The request body of the snippets: the example named "valid" when the
// contract has one (the documentation's own example is a placeholder the
// contract rejects), else the first example.
function requestExample(spec, body) {
  const media = body.content?.["application/json"];
  if (!media) return undefined;
  const examples = media.examples ?? {};
  const chosen = examples.valid ?? Object.values(examples)[0];
  if (chosen) return resolve(spec, chosen).value;
  return media.example;
}

/** The operation's URL path with example path and required query parameters. */
export function examplePath(spec, op, values = {}) {
  let path = op.path;
  const query = [];
  for (const p of op.params) {
    const v = values[p.name] ?? paramExample(spec, p);
    if (p.in === "path") path = path.replace(`{${p.name}}`, encodeURIComponent(String(v)));
    if (p.in === "query" && (p.required || values[p.name] !== undefined)) {
      query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(String(v))}`);
    }
  }
  return query.length ? `${path}?${query.join("&")}` : path;
}

function hasHeader(op, name) {
  return op.params.some((p) => p.in === "header" && p.name.toLowerCase() === name.toLowerCase());
}

function indent(text, by) {
  return text
    .split("\n")
    .map((l, i) => (i === 0 ? l : by + l))
    .join("\n");
}

function preamble(baseURL) {
  return [
    `const BASE_URL = process.env.MINBIL_API_BASE_URL ?? ${JSON.stringify(baseURL)};`,
    `const ACCESS_TOKEN = process.env.MINBIL_ACCESS_TOKEN ?? ${JSON.stringify(TOKEN_PLACEHOLDER)};`,
  ].join("\n");
}

// The header lines of the JavaScript snippets, indented by the caller.
function jsHeaders(op) {
  const lines = [`Accept: "application/json",`];
  if (op.body !== undefined) lines.push(`"Content-Type": "application/json",`);
  if (op.auth === "required") lines.push(`Authorization: "Bearer " + ACCESS_TOKEN,`);
  if (op.auth === "optional") lines.push(`// Optional here: Authorization: "Bearer " + ACCESS_TOKEN,`);
  if (hasHeader(op, "Idempotency-Key")) {
    lines.push(`// A new key per submission; send the same key again only to retry it.`);
    lines.push(`"Idempotency-Key": crypto.randomUUID(),`);
  }
  return lines;
}

/** The Node.js axios snippet of op against baseURL. */
export function axiosSnippet(spec, op, baseURL) {
  const lines = [
    `import axios from "axios";`,
    ``,
    preamble(baseURL),
    ``,
    `async function run() {`,
    `  const response = await axios({`,
    `    method: ${JSON.stringify(op.method.toLowerCase())},`,
    `    url: BASE_URL + ${JSON.stringify(examplePath(spec, op))},`,
    `    headers: {`,
    ...jsHeaders(op).map((l) => `      ${l}`),
    `    },`,
  ];
  if (op.body !== undefined) lines.push(`    data: ${indent(JSON.stringify(op.body, null, 2), "    ")},`);
  lines.push(
    `    timeout: 20000,`,
    `  });`,
    `  console.log(response.status, response.data);`,
    `}`,
    ``,
    `run().catch((error) => {`,
    `  console.error(error.response?.status, error.response?.data ?? error.message);`,
    `  process.exitCode = 1;`,
    `});`,
  );
  return lines.join("\n") + "\n";
}

/** The fetch snippet (Node.js 18+, an ES module) of op against baseURL. */
export function fetchSnippet(spec, op, baseURL) {
  const lines = [
    preamble(baseURL),
    ``,
    `const response = await fetch(BASE_URL + ${JSON.stringify(examplePath(spec, op))}, {`,
    `  method: ${JSON.stringify(op.method)},`,
    `  headers: {`,
    ...jsHeaders(op).map((l) => `    ${l}`),
    `  },`,
  ];
  if (op.body !== undefined) lines.push(`  body: JSON.stringify(${indent(JSON.stringify(op.body, null, 2), "  ")}),`);
  lines.push(
    `});`,
    `const data = await response.json();`,
    `console.log(response.status, data);`,
    `if (!response.ok) process.exitCode = 1;`,
  );
  return lines.join("\n") + "\n";
}

// JSON on one line with a space after each "," and ":" (JSON strings hold no
// raw newline, so every newline of the indented form is structural).
function oneLine(v) {
  return JSON.stringify(v, null, 1).replace(/\n */g, " ");
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** The cURL snippet of op against baseURL; --fail-with-body exits non-zero on 4xx/5xx. */
export function curlSnippet(spec, op, baseURL) {
  const lines = [`curl --fail-with-body -X ${op.method} ${shellQuote(baseURL + examplePath(spec, op))}`, `  -H 'Accept: application/json'`];
  if (op.auth === "required") lines.push(`  -H ${shellQuote(`Authorization: Bearer ${TOKEN_PLACEHOLDER}`)}`);
  if (op.body !== undefined) {
    lines.push(`  -H 'Content-Type: application/json'`);
    lines.push(`  -d ${shellQuote(oneLine(op.body))}`);
  }
  return lines.join(" \\\n") + "\n";
}

/** The snippet flavours, in the order the page shows them. */
export const FLAVOURS = [
  { key: "axios", label: "Node.js Axios", lang: "javascript", build: axiosSnippet },
  { key: "fetch", label: "Fetch", lang: "javascript", build: fetchSnippet },
  { key: "curl", label: "cURL", lang: "shell", build: curlSnippet },
];

/** Every snippet of every operation: { [operationId]: { axios, fetch, curl } }. */
export function snippets(spec, baseURL) {
  const out = {};
  for (const op of operations(spec)) {
    out[op.id] = Object.fromEntries(FLAVOURS.map((f) => [f.key, f.build(spec, op, baseURL)]));
  }
  return out;
}
