// Continuous batching: 16 simultaneous streaming requests (more than the 8 slots, so some queue) all
// complete, and each one's greedy output equals what the same request gives alone.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { modelName, startServer } from "./helpers.mjs";

let server, client;
before(async () => {
  server = await startServer(["--parallel", "8", "--ctx", "256"]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
after(async () => server && server.stop());

const prompts = Array.from({ length: 16 }, (_, i) => `Request ${i}: ${"tell me about whales ".repeat(i % 5)}`);

async function streamed(prompt, maxTokens) {
  const stream = await client.chat.completions.create({
    model: modelName, messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: maxTokens, stream: true,
  });
  let reasoning = "", content = "", finish = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    reasoning += c.delta.reasoning_content || "";
    content += c.delta.content || "";
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { reasoning, content, finish };
}

test("16 concurrent streams each equal the request alone", async () => {
  const maxTokens = (i) => 12 + (i % 4) * 6;  // different lengths: slots retire and refill at different steps
  const alone = [];
  for (let i = 0; i < prompts.length; ++i) alone.push(await streamed(prompts[i], maxTokens(i)));
  const together = await Promise.all(prompts.map((p, i) => streamed(p, maxTokens(i))));
  for (let i = 0; i < prompts.length; ++i) {
    assert.ok(together[i].finish === "length" || together[i].finish === "stop", `request ${i} did not finish`);
    assert.deepEqual(together[i], alone[i], `request ${i} differs when batched`);
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /whale_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} 32/);
  assert.match(metrics, /whale_time_to_first_token_seconds_count 32/);
});
