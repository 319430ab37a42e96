// response_format with the official openai client: json_schema (strict) and json_object, streamed and not, n=2, on
// the server test model. Its weights are random, so only the constraint makes the output JSON; ajv, a validator
// independent of the server, checks every finished answer against the schema. Also: a 400 naming an unsupported
// keyword, logprobs of the masked distribution, and a reasoning reply whose content after </think> is the JSON.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import Ajv from "ajv";
import OpenAI from "openai";
import { modelName, reasoningChat, startServer } from "./helpers.mjs";

let server, client;

before(async () => {
  server = await startServer(["--parallel", "4", "--ctx", "256"]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
after(async () => server && server.stop());

// Every value bounded, so that even random weights finish the document within the 256-token context. Strict
// (OpenAI's rules): every property required, no others; "born" may be null.
const person = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 8 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    tags: { type: "array", items: { enum: ["red", "green", "blue"] }, maxItems: 3 },
    ok: { type: "boolean" },
    born: { type: ["string", "null"], format: "date" },
  },
  required: ["name", "age", "tags", "ok", "born"],
  additionalProperties: false,
};
const personFormat = { type: "json_schema", json_schema: { name: "person", strict: true, schema: person } };

// ajv knows no formats by itself: RFC 3339 full-date, with the days of each month.
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addFormat("date", (s) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days[mo - 1];
});
const validPerson = ajv.compile(person);

function assertPerson(text, what) {
  let value;
  assert.doesNotThrow(() => (value = JSON.parse(text)), `${what}: not JSON: ${JSON.stringify(text)}`);
  assert.ok(validPerson(value), `${what}: ${ajv.errorsText(validPerson.errors)} in ${text}`);
}

const prompt = "A person as JSON:";
const sampled = { model: modelName, prompt, temperature: 1, seed: 11, n: 2, max_tokens: 240, response_format: personFormat };

test("json_schema: n=2 sampled completions are valid instances, and the stream spells the same ones", async () => {
  const r = await client.completions.create(sampled);
  assert.equal(r.choices.length, 2);
  for (const c of r.choices) {
    assert.equal(c.finish_reason, "stop", c.text);
    assertPerson(c.text, `choice ${c.index}`);
  }
  assert.notEqual(r.choices[0].text, r.choices[1].text);  // each choice has its own seed and constraint

  const texts = ["", ""], finish = [null, null];
  for await (const chunk of await client.completions.create({ ...sampled, stream: true })) {
    for (const c of chunk.choices) {
      texts[c.index] += c.text;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  assert.deepEqual(texts, r.choices.map((c) => c.text));
  assert.deepEqual(finish, ["stop", "stop"]);
});

test("json_schema: many seeds, every answer validates", async () => {
  const answers = await Promise.all(
    [21, 22, 23, 24].map((seed) => client.completions.create({ ...sampled, seed, n: 2 })),
  );
  for (const r of answers)
    for (const c of r.choices) {
      assert.equal(c.finish_reason, "stop");
      assertPerson(c.text, `seed choice ${c.index}`);
    }
});

test("json_object: the output is an object (or a prefix of one when max_tokens cuts it)", async () => {
  const r = await client.completions.create({
    model: modelName, prompt, temperature: 1, seed: 5, n: 2, max_tokens: 200, response_format: { type: "json_object" },
  });
  for (const c of r.choices) {
    assert.match(c.text, /^\s*\{/);
    if (c.finish_reason === "stop") {
      const value = JSON.parse(c.text);
      assert.equal(typeof value, "object");
      assert.ok(!Array.isArray(value) && value !== null);
    } else {
      assert.equal(c.finish_reason, "length");  // cut by max_tokens, never ended early by the constraint
    }
  }
  // Streamed the same.
  let streamed = "";
  for await (const chunk of await client.completions.create({
    model: modelName, prompt, temperature: 1, seed: 5, max_tokens: 200, response_format: { type: "json_object" }, stream: true,
  }))
    streamed += chunk.choices[0]?.text ?? "";
  assert.equal(streamed, r.choices[0].text);
});

test("logprobs report the masked distribution: every alternative keeps the output valid", async () => {
  const r = await client.completions.create({ ...sampled, n: 1, logprobs: 5, max_tokens: 3 });
  const { tokens, token_logprobs, top_logprobs } = r.choices[0].logprobs;
  assert.equal(tokens.length, 3);
  // The first token starts the document: whitespace or "{", nothing else.
  const first = Object.keys(top_logprobs[0]);
  assert.ok(first.length >= 1 && first.length <= 5);
  for (const t of first) assert.match(t, /^\s*(\{|$)/, `alternative ${JSON.stringify(t)} cannot start the object`);
  for (const lp of token_logprobs) assert.ok(Number.isFinite(lp) && lp <= 0);
});

test("reasoning: content after </think> is the JSON, reasoning_content is free text", async () => {
  const greedy = { model: modelName, messages: [{ role: "user", content: reasoningChat }], temperature: 0, max_tokens: 240 };
  const r = await client.chat.completions.create({ ...greedy, n: 2, response_format: personFormat });
  for (const c of r.choices) {
    assert.ok(c.message.reasoning_content.length > 0, "reasoning_content is empty");
    assert.equal(c.finish_reason, "stop");
    assertPerson(c.message.content, "chat content");
  }
  let reasoning = "", content = "";
  for await (const chunk of await client.chat.completions.create({ ...greedy, response_format: personFormat, stream: true })) {
    const d = chunk.choices[0]?.delta ?? {};
    reasoning += d.reasoning_content ?? "";
    content += d.content ?? "";
  }
  assert.equal(reasoning, r.choices[0].message.reasoning_content);
  assert.equal(content, r.choices[0].message.content);
});

test("an unsupported keyword is a 400 invalid_value naming it, before anything is generated", async () => {
  const schema = { type: "object", properties: { id: { type: "string", pattern: "^[a-z]+$" } } };
  for (const create of [
    () => client.chat.completions.create({ model: modelName, messages: [{ role: "user", content: "x" }],
                                           response_format: { type: "json_schema", json_schema: { name: "s", schema } } }),
    () => client.completions.create({ model: modelName, prompt: "x",
                                      response_format: { type: "json_schema", json_schema: { name: "s", schema } } }),
  ])
    await assert.rejects(create(), (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.param, "response_format");
      assert.equal(e.code, "invalid_value");
      assert.match(e.message, /response_format: JSON schema keyword 'pattern' is not supported/);
      return true;
    });
});
