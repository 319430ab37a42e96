// The official openai client against `whale serve`, plus raw HTTP for malformed input and the API key.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { modelName, parseSse, reasoningChat, startServer } from "./helpers.mjs";

const apiKey = "sk-node-test";
let server, client;

before(async () => {
  server = await startServer(["--api-key", apiKey, "--parallel", "4", "--ctx", "256", "--max-body", "65536"]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
});
after(async () => server && server.stop());

const hello = [{ role: "user", content: reasoningChat }];
const greedy = { model: modelName, messages: hello, temperature: 0, max_tokens: 24 };

test("lists the served model", async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [modelName]);
});

test("non-streaming chat splits reasoning_content from content; max_tokens → length", async () => {
  const r = await client.chat.completions.create(greedy);
  const choice = r.choices[0];
  assert.equal(r.object, "chat.completion");
  assert.equal(choice.message.role, "assistant");
  assert.ok(choice.message.reasoning_content.length > 0, "reasoning_content is empty");
  assert.ok(choice.message.content.length > 0, "content is empty");
  assert.ok(!choice.message.content.includes("think>") && !choice.message.reasoning_content.includes("think>"));
  assert.equal(choice.finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 24);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 24);
});

test("streaming chat gives the same text, reasoning first, then usage", async () => {
  const full = await client.chat.completions.create(greedy);
  const stream = await client.chat.completions.create({ ...greedy, stream: true, stream_options: { include_usage: true } });
  let reasoning = "", content = "", finish = null, usage = null, sawContentBeforeReasoningEnded = false;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta.reasoning_content) {
      if (content) sawContentBeforeReasoningEnded = true;
      reasoning += c.delta.reasoning_content;
    }
    if (c.delta.content) content += c.delta.content;
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(reasoning, full.choices[0].message.reasoning_content);
  assert.equal(content, full.choices[0].message.content);
  assert.ok(!sawContentBeforeReasoningEnded);
  assert.equal(finish, "length");
  assert.deepEqual(usage, full.usage);
});

test("stop sequences end the output before the stop string", async () => {
  const full = await client.chat.completions.create(greedy);
  const text = full.choices[0].message.reasoning_content;
  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
  for (const stream of [false, true]) {
    let reasoning = "", finish;
    if (stream) {
      for await (const chunk of await client.chat.completions.create({ ...greedy, stop: [stop], stream })) {
        const c = chunk.choices[0];
        if (c && c.delta.reasoning_content) reasoning += c.delta.reasoning_content;
        if (c && c.finish_reason) finish = c.finish_reason;
      }
    } else {
      const r = await client.chat.completions.create({ ...greedy, stop: [stop] });
      reasoning = r.choices[0].message.reasoning_content;
      finish = r.choices[0].finish_reason;
    }
    assert.equal(reasoning, text.slice(0, text.indexOf(stop)), `stream=${stream}`);
    assert.equal(finish, "stop");
  }
});

test("chat logprobs: one entry per generated token, split like the text, top alternatives sorted", async () => {
  const r = await client.chat.completions.create({ ...greedy, logprobs: true, top_logprobs: 3 });
  const { message } = r.choices[0];
  const { content, reasoning_content: reasoning } = r.choices[0].logprobs;
  assert.equal(content.length + reasoning.length, r.usage.completion_tokens);
  // The reasoning tokens spell reasoning_content and the closing tag; the content tokens spell content.
  assert.equal(reasoning.map((e) => e.token).join(""), message.reasoning_content + "</think>");
  assert.equal(content.map((e) => e.token).join("").trimStart(), message.content);
  for (const e of [...reasoning, ...content]) {
    assert.ok(e.logprob <= 0);
    assert.deepEqual(e.bytes, [...Buffer.from(e.token, "utf8")]);
    assert.equal(e.top_logprobs.length, 3);
    // Greedy: the chosen token is the most likely one.
    assert.equal(e.top_logprobs[0].token, e.token);
    assert.equal(e.top_logprobs[0].logprob, e.logprob);
    for (let i = 1; i < 3; ++i) assert.ok(e.top_logprobs[i].logprob <= e.top_logprobs[i - 1].logprob);
  }
  // Streaming reports the same entries across its chunks; without logprobs the field is null.
  const streamed = { content: [], reasoning: [] };
  for await (const chunk of await client.chat.completions.create({ ...greedy, logprobs: true, top_logprobs: 3, stream: true })) {
    const lp = chunk.choices[0] && chunk.choices[0].logprobs;
    if (!lp) continue;
    streamed.content.push(...lp.content);
    streamed.reasoning.push(...(lp.reasoning_content || []));
  }
  assert.deepEqual(streamed, { content, reasoning });
  assert.equal((await client.chat.completions.create(greedy)).choices[0].logprobs, null);
  await assert.rejects(client.chat.completions.create({ ...greedy, top_logprobs: 2 }), (e) => e.status === 400 && e.param === "top_logprobs");
});

test("text completion logprobs: tokens spell the text, offsets count its bytes", async () => {
  const r = await client.completions.create({ model: modelName, prompt: "The sea", max_tokens: 6, temperature: 0, logprobs: 2 });
  const { text, logprobs } = r.choices[0];
  assert.equal(logprobs.tokens.join(""), text);
  assert.equal(logprobs.tokens.length, 6);
  let offset = 0;
  logprobs.tokens.forEach((t, i) => {
    assert.equal(logprobs.text_offset[i], offset);
    offset += Buffer.byteLength(t, "utf8");
    assert.equal(logprobs.top_logprobs[i][t], logprobs.token_logprobs[i]);
    assert.ok(Object.keys(logprobs.top_logprobs[i]).length <= 2);
  });
});

test("logit_bias steers decoding; penalties are accepted; a bias outside the vocabulary is a 400", async () => {
  const r = await client.completions.create({
    model: modelName, prompt: "The sea", max_tokens: 4, temperature: 0, logprobs: 1, logit_bias: { 1000: 100 },
  });
  const tokens = r.choices[0].logprobs.tokens;
  assert.equal(tokens.length, 4);
  assert.ok(tokens.every((t) => t === tokens[0]), `every token is the biased one: ${JSON.stringify(tokens)}`);
  const plain = await client.completions.create({ model: modelName, prompt: "The sea", max_tokens: 4, temperature: 0 });
  const penalised = await client.chat.completions.create({
    ...greedy, frequency_penalty: 1.5, presence_penalty: 0.5, max_tokens: 8,
  });
  assert.equal(penalised.usage.completion_tokens, 8);
  assert.notEqual(plain.choices[0].text, r.choices[0].text);
  await assert.rejects(
    client.completions.create({ model: modelName, prompt: "x", max_tokens: 2, logit_bias: { 99999999: 5 } }),
    (e) => e.status === 400 && e.param === "logit_bias" && /outside the vocabulary/.test(e.message));
});

test("text completions", async () => {
  const r = await client.completions.create({ model: modelName, prompt: "The sea", max_tokens: 5, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(typeof r.choices[0].text, "string");
  assert.equal(r.usage.completion_tokens, 5);
});

test("errors reach the client as OpenAI errors", async () => {
  await assert.rejects(client.chat.completions.create({ ...greedy, model: "gpt-4o" }), (e) => {
    assert.equal(e.status, 404);
    assert.equal(e.code, "model_not_found");
    return true;
  });
  await assert.rejects(client.chat.completions.create({ ...greedy, temperature: 5 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.param, "temperature");
    return true;
  });
  const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
  await assert.rejects(wrongKey.models.list(), (e) => e.status === 401);
});

// Raw HTTP: what a client library would not send.
async function raw(path, { body, key = apiKey, method = "POST" } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(server.url + path, { method, headers, body });
  return { status: r.status, body: await r.text() };
}

function assertOpenAiError(r, status) {
  assert.equal(r.status, status, r.body);
  const j = JSON.parse(r.body);
  for (const key of ["message", "type", "param", "code"]) assert.ok(key in j.error, `error.${key} missing`);
  return j.error;
}

test("raw HTTP: API key", async () => {
  assertOpenAiError(await raw("/v1/models", { method: "GET", key: null }), 401);
  assertOpenAiError(await raw("/v1/models", { method: "GET", key: apiKey + "x" }), 401);
  assert.equal((await raw("/v1/models", { method: "GET" })).status, 200);
  assert.equal((await raw("/health", { method: "GET", key: null })).status, 200);
});

test("raw HTTP: malformed input never crashes the server", async () => {
  const chat = (body) => raw("/v1/chat/completions", { body: typeof body === "string" ? body : JSON.stringify(body) });
  assert.equal(assertOpenAiError(await chat("{\"messages\": [{"), 400).code, "invalid_json");
  assert.equal(assertOpenAiError(await chat("null"), 400).code, "invalid_json");
  assert.equal(assertOpenAiError(await chat({ messages: "hi" }), 400).param, "messages");
  assert.equal(assertOpenAiError(await chat({ messages: [{ role: 1, content: "x" }] }), 400).param, "messages[0].role");
  assert.equal(assertOpenAiError(await chat({ ...greedy, max_tokens: "ten" }), 400).param, "max_tokens");
  assert.equal(assertOpenAiError(await chat({ ...greedy, n: 1000 }), 400).param, "n");
  assert.equal(assertOpenAiError(await chat({ ...greedy, model: "nope" }), 404).code, "model_not_found");
  const long = { ...greedy, messages: [{ role: "user", content: "word ".repeat(400) }] };
  const e = assertOpenAiError(await chat(long), 400);
  assert.equal(e.code, "context_length_exceeded");
  assert.match(e.message, /256/);
  assertOpenAiError(await chat("x".repeat(100 * 1024)), 413);
  // Still serving.
  const ok = await chat({ ...greedy, max_tokens: 2 });
  assert.equal(ok.status, 200);
});

test("raw HTTP: SSE framing", async () => {
  const r = await raw("/v1/chat/completions", { body: JSON.stringify({ ...greedy, max_tokens: 4, stream: true }) });
  assert.equal(r.status, 200);
  const events = parseSse(r.body);
  assert.equal(events[0].choices[0].delta.role, "assistant");
  assert.equal(events.at(-1).choices[0].finish_reason, "length");
});
