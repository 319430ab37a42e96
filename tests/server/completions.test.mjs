// Completions and chat API details with the official openai client: echo, prompts as token ids and lists, best_of,
// fill in the middle (suffix), DeepSeek's prefix completion, content parts, 16 stop strings, and the usage fields
// (DeepSeek's prompt cache counts and reasoning tokens).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { modelName, reasoningChat, startServer } from "./helpers.mjs";

let server, client;

before(async () => {
  server = await startServer(["--parallel", "4", "--ctx", "256"]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none", maxRetries: 0 });
});
after(async () => server && server.stop());

const complete = (fields) => client.completions.create({ model: modelName, max_tokens: 6, temperature: 0, ...fields });
const hello = [{ role: "user", content: reasoningChat }];
const chat = (fields) =>
  client.chat.completions.create({ model: modelName, messages: hello, max_tokens: 24, temperature: 0, ...fields });

test("echo: each choice's text starts with its prompt, streamed or not", async () => {
  const plain = await complete({ prompt: "The sea" });
  const echoed = await complete({ prompt: "The sea", echo: true });
  assert.equal(echoed.choices[0].text, "The sea" + plain.choices[0].text);
  let streamed = "";
  for await (const chunk of await complete({ prompt: "The sea", echo: true, stream: true }))
    for (const c of chunk.choices) streamed += c.text;
  assert.equal(streamed, echoed.choices[0].text);
  await assert.rejects(complete({ prompt: "x", echo: true, logprobs: 1 }), (e) => e.status === 400 && e.param === "echo");
});

test("a list of prompts: n choices each, indexed prompt * n + i, usage summed", async () => {
  const sea = await complete({ prompt: "The sea" });
  const cat = await complete({ prompt: "A cat" });
  const both = await complete({ prompt: ["The sea", "A cat"], n: 2 });
  assert.deepEqual(both.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.deepEqual(both.choices.map((c) => c.text),
                   [sea.choices[0].text, sea.choices[0].text, cat.choices[0].text, cat.choices[0].text]);
  assert.equal(both.usage.prompt_tokens, sea.usage.prompt_tokens + cat.usage.prompt_tokens);
  assert.equal(both.usage.completion_tokens, 4 * 6);
});

test("prompts as token ids are used as they are (no BOS added)", async () => {
  const ids = await complete({ prompt: [0, 1000, 2000, 3000] });
  assert.equal(ids.usage.prompt_tokens, 4);
  const again = await complete({ prompt: [[0, 1000, 2000, 3000], [0, 1000]] });
  assert.equal(again.choices[0].text, ids.choices[0].text);
  assert.equal(again.usage.prompt_tokens, 6);
  await assert.rejects(complete({ prompt: [0, 99999999] }),
                       (e) => e.status === 400 && e.param === "prompt" && /99999999/.test(e.message));
});

test("best_of returns the generation with the highest mean log-probability per token", async () => {
  const sampling = { prompt: "The sea", temperature: 1.5, seed: 7, max_tokens: 8 };
  const all = await complete({ ...sampling, n: 4, logprobs: 0 });  // the same seeds: seed + i
  const mean = (c) => c.logprobs.token_logprobs.reduce((a, b) => a + b, 0) / c.logprobs.token_logprobs.length;
  const best = all.choices.reduce((a, b) => (mean(b) > mean(a) ? b : a));
  assert.ok(new Set(all.choices.map((c) => c.text)).size > 1, "the samples differ");
  const chosen = await complete({ ...sampling, best_of: 4 });
  assert.equal(chosen.choices.length, 1);
  assert.equal(chosen.choices[0].text, best.text);
  assert.equal(chosen.usage.completion_tokens, all.usage.completion_tokens);  // all four were generated
  await assert.rejects(complete({ prompt: "x", best_of: 2, stream: true }), (e) => e.status === 400);
});

test("suffix: fill in the middle with the vocabulary's FIM tokens", async () => {
  const prefix = "def add(a, b):\n", suffix = "\n    return c\n";
  const alone = (await complete({ prompt: prefix })).usage.prompt_tokens;  // BOS + prefix
  const suffixTokens = (await complete({ prompt: suffix })).usage.prompt_tokens - 1;
  const fim = await complete({ prompt: prefix, suffix });
  // BOS <｜fim▁begin｜> prefix <｜fim▁hole｜> suffix <｜fim▁end｜>
  assert.equal(fim.usage.prompt_tokens, alone + suffixTokens + 3);
  const plain = await complete({ prompt: prefix });
  assert.notEqual(fim.choices[0].text, plain.choices[0].text);
  const echoed = await complete({ prompt: prefix, suffix, echo: true });
  assert.equal(echoed.choices[0].text, prefix + fim.choices[0].text);
});

test("prefix completion: the reply continues the last assistant message", async () => {
  const base = await chat({});
  const prefixed = await chat({ messages: [...hello, { role: "assistant", content: "Let me", prefix: true }] });
  assert.ok(prefixed.usage.prompt_tokens > base.usage.prompt_tokens);
  assert.notEqual(prefixed.choices[0].message.reasoning_content, base.choices[0].message.reasoning_content);
  // A prefix that closes the reasoning: the reply is content only.
  const answer = await chat({
    messages: [...hello, { role: "assistant", content: "</think>\n\nThe answer is", prefix: true }], max_tokens: 6,
  });
  assert.equal(answer.choices[0].message.reasoning_content, undefined);
  assert.ok(answer.choices[0].message.content.length > 0);
  await assert.rejects(chat({ messages: [{ role: "user", content: "x", prefix: true }] }), (e) => e.status === 400);
});

test("usage: reasoning tokens and DeepSeek's prompt cache fields", async () => {
  const r = await chat({ logprobs: true });
  const u = r.usage;
  assert.ok(u.completion_tokens_details.reasoning_tokens > 0);
  assert.ok(u.completion_tokens_details.reasoning_tokens < u.completion_tokens, "content tokens follow");
  const reasoningEntries = r.choices[0].logprobs.reasoning_content.length;  // special tokens have no entry
  assert.ok(Math.abs(u.completion_tokens_details.reasoning_tokens - reasoningEntries) <= 1);
  assert.equal(u.prompt_cache_hit_tokens, 0);
  assert.equal(u.prompt_cache_miss_tokens, u.prompt_tokens);
  assert.equal(u.prompt_tokens_details.cached_tokens, 0);
  const text = await complete({ prompt: "The sea" });
  assert.equal(text.usage.completion_tokens_details.reasoning_tokens, 0);
});

test("content as text parts equals the joined string; up to 16 stop strings", async () => {
  const parts = await chat({ messages: [{ role: "user", content: [{ type: "text", text: "Hel" }, { type: "text", text: "lo" }] }] });
  const whole = await chat({});
  assert.equal(parts.choices[0].message.content, whole.choices[0].message.content);
  const stops = Array.from({ length: 16 }, (_, i) => `zz${i}qq`);
  assert.equal((await chat({ stop: stops })).choices[0].message.content, whole.choices[0].message.content);
  await assert.rejects(chat({ stop: [...stops, "x17"] }), (e) => e.status === 400 && e.param === "stop");
  await assert.rejects(chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }),
                       (e) => e.status === 400);
});
