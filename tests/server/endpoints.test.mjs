// Issue 15's smaller endpoints and options: /tokenize and /detokenize, --alias, /v1/embeddings (a clear 404) and
// --cors. The access log is tested on a real process's output in tests/server_endpoints_test.cc.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { modelName, startServer, testModelDir, whaleBinary } from "./helpers.mjs";

const apiKey = "sk-endpoints-test";
const app = "https://app.example";

// One request; the status, the headers and the body parsed when it is JSON.
async function call(url, path, { method = "POST", body, key = apiKey, origin, type = "application/json" } = {}) {
  const headers = {};
  if (type) headers["Content-Type"] = type;
  if (key) headers.Authorization = `Bearer ${key}`;
  if (origin) headers.Origin = origin;
  const r = await fetch(url + path, { method, headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

// The OpenAI error shape with this status; the error object.
function errorOf(r, status) {
  assert.equal(r.status, status, r.text);
  for (const field of ["message", "type", "param", "code"]) assert.ok(field in r.json.error, `error.${field} missing`);
  return r.json.error;
}

// The reference: `whale tokenize` on the same tokenizer (JSON lines in, ids out), independent of the server.
function cliIds(texts) {
  const input = texts.map((text) => JSON.stringify({ text })).join("\n") + "\n";
  const r = spawnSync(whaleBinary, ["tokenize", "--tokenizer", testModelDir()], { input, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split("\n").map((line) => JSON.parse(line).ids);
}

describe("a server with a key and aliases, without --cors", () => {
  let server, client;
  const tokenize = (body, opts) => call(server.url, "/tokenize", { body, ...opts });
  const detokenize = (body, opts) => call(server.url, "/detokenize", { body, ...opts });
  before(async () => {
    server = await startServer(["--api-key", apiKey, "--alias", "gpt-4o-mini", "--alias", "deepseek-chat",
                                "--ctx", "256", "--max-body", "65536"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
  });
  after(async () => server && server.stop());

  test("/tokenize gives the tokenizer's ids, special-token text included; /detokenize inverts it", async () => {
    const texts = ["Hello world", "naïve café 東京 🐳", "<｜begin▁of▁sentence｜>x<｜end▁of▁sentence｜>"];
    const expected = cliIds(texts);
    assert.equal(expected[2].length, 3, "the special-token spellings are single ids");
    for (const [i, content] of texts.entries()) {
      const r = await tokenize({ content });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { tokens: expected[i] });
      const back = await detokenize({ tokens: expected[i] });
      assert.equal(back.status, 200, back.text);
      assert.deepEqual(back.json, { content });
    }
    assert.deepEqual((await tokenize({ content: "" })).json, { tokens: [] });
    assert.deepEqual((await detokenize({ tokens: [] })).json, { content: "" });
  });

  test("/tokenize add_special puts the BOS first; with_pieces gives each token's text", async () => {
    const [bos, ids] = cliIds(["<｜begin▁of▁sentence｜>", "Hello world"]);
    assert.deepEqual((await tokenize({ content: "Hello world", add_special: true })).json, { tokens: [...bos, ...ids] });
    assert.deepEqual((await tokenize({ content: "Hello world", add_special: false })).json, { tokens: ids });
    const pieces = (await tokenize({ content: "Hello world", with_pieces: true })).json.tokens;
    assert.deepEqual(pieces.map((p) => p.id), ids);
    assert.equal(pieces.map((p) => p.piece).join(""), "Hello world");
    assert.ok(pieces.every((p) => Object.keys(p).length === 2 && typeof p.piece === "string"));
    // A character whose bytes are split across tokens: each piece is lossy (U+FFFD), the ids still decode to it.
    const whale = "🐳";
    const [whaleIds] = cliIds([whale]);
    assert.equal(whaleIds.length, 2, "the test needs a character split across two tokens");
    const split = (await tokenize({ content: whale, with_pieces: true })).json.tokens;
    assert.deepEqual(split.map((p) => p.id), whaleIds);
    assert.ok(split.every((p) => p.piece.includes("\uFFFD")), JSON.stringify(split));
    assert.equal((await detokenize({ tokens: whaleIds })).json.content, whale);
  });

  test("/tokenize and /detokenize: malformed bodies are 400s naming the field", async () => {
    const param = async (r) => errorOf(await r, 400).param;
    assert.equal(errorOf(await tokenize("{\"content\": "), 400).code, "invalid_json");
    assert.equal(errorOf(await tokenize("[1]"), 400).code, "invalid_json");
    assert.equal(await param(tokenize({})), "content");
    assert.equal(await param(tokenize({ content: 5 })), "content");
    assert.equal(await param(tokenize({ content: "x", add_special: "yes" })), "add_special");
    assert.equal(await param(tokenize({ content: "x", with_pieces: 1 })), "with_pieces");
    assert.equal(errorOf(await detokenize("nope"), 400).code, "invalid_json");
    assert.equal(await param(detokenize({})), "tokens");
    assert.equal(await param(detokenize({ tokens: "1 2" })), "tokens");
    assert.equal(await param(detokenize({ tokens: [1, "2"] })), "tokens[1]");
    assert.equal(await param(detokenize({ tokens: [1, 2.5] })), "tokens[1]");
    assert.equal(await param(detokenize({ tokens: [-1] })), "tokens[0]");
    assert.equal(await param(detokenize({ tokens: [0, 1e20] })), "tokens[1]");
    // The tokenizer's 128,815 ids, not the model's 129,280 rows (the rest are padding).
    assert.equal((await detokenize({ tokens: [128814] })).status, 200);
    const vocab = errorOf(await detokenize({ tokens: [0, 1, 128815] }), 400);
    assert.equal(vocab.param, "tokens[2]");
    assert.match(vocab.message, /is 128815, not a token id of the vocabulary \(0 to 128814\)/);
    errorOf(await tokenize("x".repeat(70 * 1024)), 413);
  });

  test("/tokenize and /detokenize need the key, JSON and POST", async () => {
    assert.equal(errorOf(await tokenize({ content: "x" }, { key: null }), 401).code, "invalid_api_key");
    assert.equal(errorOf(await detokenize({ tokens: [1] }, { key: "sk-wrong-key" }), 401).code, "invalid_api_key");
    assert.equal(errorOf(await tokenize("content=x", { type: "text/plain" }), 415).code, "unsupported_media_type");
    const get = await call(server.url, "/tokenize", { method: "GET" });
    assert.equal(errorOf(get, 405).code, "method_not_allowed");
    assert.equal(get.headers.get("allow"), "POST");
  });

  test("--alias: listed after the served name; retrieving or requesting one answers as the served model", async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [modelName, "gpt-4o-mini", "deepseek-chat"]);
    for (const id of [modelName, "gpt-4o-mini", "deepseek-chat"]) assert.equal((await client.models.retrieve(id)).id, modelName);
    await assert.rejects(client.models.retrieve("gpt-4o"), (e) => e.status === 404 && e.code === "model_not_found");
    const r = await client.chat.completions.create({
      model: "deepseek-chat", messages: [{ role: "user", content: "Hello" }], temperature: 0, max_tokens: 2 });
    assert.equal(r.model, modelName);
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Hello" }], max_tokens: 2 }),
      (e) => e.status === 404 && e.code === "model_not_found");
  });

  test("/v1/embeddings is a clear 404 (a generative model); other methods 405", async () => {
    await assert.rejects(client.embeddings.create({ model: modelName, input: "hello" }), (e) => {
      assert.equal(e.status, 404);
      assert.equal(e.code, "model_not_supported");
      assert.match(e.message, /generative model; embeddings are not available/);
      return true;
    });
    const get = await call(server.url, "/v1/embeddings", { method: "GET" });
    assert.equal(errorOf(get, 405).code, "method_not_allowed");
    errorOf(await call(server.url, "/v1/embeddings", { body: { input: "x" }, key: null }), 401);
  });

  test("without --cors: no CORS headers, and OPTIONS is a 405", async () => {
    const r = await call(server.url, "/tokenize", { body: { content: "x" }, origin: app });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    assert.equal(r.headers.get("vary"), null);
    const options = await call(server.url, "/v1/chat/completions", { method: "OPTIONS", origin: app });
    assert.equal(errorOf(options, 405).code, "method_not_allowed");
    assert.equal(options.headers.get("allow"), "POST");
    assert.equal(options.headers.get("access-control-allow-origin"), null);
  });
});

describe("--cors with one origin", () => {
  let server;
  before(async () => {
    server = await startServer(["--api-key", apiKey, "--cors", app, "--ctx", "256"]);
  });
  after(async () => server && server.stop());

  test("a listed Origin gets Access-Control-Allow-Origin and Vary, refusals included; others do not", async () => {
    const ok = await call(server.url, "/v1/models", { method: "GET", origin: app });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), app);
    assert.equal(ok.headers.get("vary"), "Origin");
    const refused = await call(server.url, "/v1/models", { method: "GET", origin: app, key: null });
    errorOf(refused, 401);
    assert.equal(refused.headers.get("access-control-allow-origin"), app, "a page can read why it was refused");
    for (const origin of ["https://evil.example", "https://app.example.evil", undefined]) {
      const r = await call(server.url, "/tokenize", { body: { content: "x" }, origin });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("access-control-allow-origin"), null, `Origin ${origin}`);
      assert.equal(r.headers.get("vary"), "Origin");
    }
  });

  test("the preflight: 204 without a key, the route's method + OPTIONS; unknown routes stay 404", async () => {
    for (const [path, method] of [["/v1/chat/completions", "POST"], ["/v1/models", "GET"], ["/tokenize", "POST"]]) {
      const r = await call(server.url, path, { method: "OPTIONS", key: null, type: null, origin: app });
      assert.equal(r.status, 204, `${path}: ${r.text}`);
      assert.equal(r.text, "");
      assert.equal(r.headers.get("access-control-allow-origin"), app);
      assert.equal(r.headers.get("access-control-allow-methods"), `${method}, OPTIONS`);
      assert.equal(r.headers.get("access-control-allow-headers"), "Authorization, Content-Type");
      assert.equal(r.headers.get("access-control-max-age"), "600");
    }
    const unknown = await call(server.url, "/v2/nothing", { method: "OPTIONS", key: null, origin: app });
    errorOf(unknown, 404);
    const wrong = await call(server.url, "/tokenize", { method: "PUT", origin: app });
    errorOf(wrong, 405);
    assert.equal(wrong.headers.get("allow"), "POST, OPTIONS");
  });

  test("a streamed answer carries the CORS headers too", async () => {
    const body = { messages: [{ role: "user", content: "Hello" }], temperature: 0, max_tokens: 3, stream: true };
    const r = await call(server.url, "/v1/chat/completions", { body, origin: app });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get("content-type"), /text\/event-stream/);
    assert.equal(r.headers.get("access-control-allow-origin"), app);
    assert.equal(r.headers.get("vary"), "Origin");
    assert.ok(r.text.endsWith("data: [DONE]\n\n"));
  });
});

describe("--cors '*'", () => {
  let server;
  before(async () => {
    server = await startServer(["--cors", "*", "--ctx", "256"]);
  });
  after(async () => server && server.stop());

  test("any Origin gets Access-Control-Allow-Origin: *", async () => {
    for (const origin of [app, "http://localhost:3000", "null"]) {
      const r = await call(server.url, "/v1/models", { method: "GET", origin });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("access-control-allow-origin"), "*", `Origin ${origin}`);
    }
    const none = await call(server.url, "/v1/models", { method: "GET" });
    assert.equal(none.headers.get("access-control-allow-origin"), null, "no Origin, no CORS answer");
  });
});
