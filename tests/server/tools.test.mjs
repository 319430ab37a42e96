// Function calling with the official openai client against `whale serve` of the server test model (DeepSeek-V3's
// template, R1's generation prompt). Its weights are random, so it never writes a call by itself: these tests check
// the plumbing. Tools and a tool history are accepted; since DeepSeek-V3's template does not render `tools`, a greedy
// answer with tools must be exactly the answer without them, streamed and not (the call parser passes plain content
// through unchanged, reasoning stays in reasoning_content). A named function, or "required", is forced by constrained
// decoding: the answer is one call of a listed tool whose arguments satisfy its schema; a malformed tool is a 400
// naming its field; the operator's prompt rules see tool calls and tool lists.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import Ajv from "ajv";
import OpenAI from "openai";
import { ensureOutDir, modelName, reasoningChat, startServer } from "./helpers.mjs";

let server, client;

before(async () => {
  server = await startServer(["--parallel", "2", "--ctx", "256"]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
after(async () => server && server.stop());

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  },
};
const greedy = { model: modelName, temperature: 0, max_tokens: 24, messages: [{ role: "user", content: reasoningChat }] };

// A streamed chat answer, assembled as a client would.
async function streamed(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const out = { content: "", reasoning: "", toolCalls: [], finish: null };
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      out.content += c.delta.content ?? "";
      out.reasoning += c.delta.reasoning_content ?? "";
      for (const t of c.delta.tool_calls ?? []) out.toolCalls.push(t);
      if (c.finish_reason) out.finish = c.finish_reason;
    }
  }
  return out;
}

test("tools with tool_choice auto: accepted, and plain answers pass through unchanged", async () => {
  const plain = await client.chat.completions.create(greedy);
  for (const extra of [{ tools: [weather] }, { tools: [weather], tool_choice: "auto", parallel_tool_calls: false }]) {
    const r = await client.chat.completions.create({ ...greedy, ...extra });
    const m = r.choices[0].message;
    assert.equal(m.tool_calls, undefined, "the random model wrote no call");
    assert.notEqual(r.choices[0].finish_reason, "tool_calls");
    assert.equal(m.content, plain.choices[0].message.content);
    assert.equal(m.reasoning_content, plain.choices[0].message.reasoning_content);
    assert.ok(m.reasoning_content.length > 0 && m.content.length > 0, "the reply has reasoning and content");
    const s = await streamed({ ...greedy, ...extra });
    assert.deepEqual(s.toolCalls, []);
    assert.equal(s.content, m.content);
    assert.equal(s.reasoning, m.reasoning_content);
    assert.equal(s.finish, r.choices[0].finish_reason);
  }
  const none = await client.chat.completions.create({ ...greedy, tools: [weather], tool_choice: "none" });
  assert.equal(none.choices[0].message.content, plain.choices[0].message.content);
});

test("a history with an assistant tool call (content null) and the tool's result is accepted", async () => {
  const messages = [
    { role: "user", content: "Weather in Paris?" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
    },
    { role: "tool", tool_call_id: "call_1", content: '{"temp": 21}' },
  ];
  const r = await client.chat.completions.create({ ...greedy, messages, tools: [weather] });
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.ok(r.usage.prompt_tokens > 20, `the call and its result are in the prompt (${r.usage.prompt_tokens} tokens)`);
  const s = await streamed({ ...greedy, messages, tools: [weather] });
  assert.equal(s.content, r.choices[0].message.content);
});

// A forced call: the greedy reply to reasoningChat reasons, closes </think>, and then decoding writes the call's markup
// and arguments that follow the function's schema (ajv, independent of the server, checks them).
const forecast = {
  type: "function",
  function: {
    name: "get_forecast",
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 8 }, unit: { enum: ["C", "F"] }, days: { type: "integer", minimum: 1, maximum: 7 } },
      required: ["city", "unit", "days"],
      additionalProperties: false,
    },
  },
};
const validForecast = new Ajv({ strict: true }).compile(forecast.function.parameters);
const forcedBase = { ...greedy, max_tokens: 200, tools: [weather, forecast] };

function assertForecastArguments(args, what) {
  let value;
  assert.doesNotThrow(() => (value = JSON.parse(args)), `${what}: arguments are not JSON: ${args}`);
  assert.ok(validForecast(value), `${what}: ${JSON.stringify(validForecast.errors)} in ${args}`);
}

test("tool_choice naming a function: a tool_calls answer whose arguments satisfy the schema, streamed and not", async () => {
  const named = { ...forcedBase, tool_choice: { type: "function", function: { name: "get_forecast" } } };
  const r = await client.chat.completions.create({ ...named, n: 2 });
  assert.equal(r.choices.length, 2);
  for (const c of r.choices) {
    assert.equal(c.finish_reason, "tool_calls");
    assert.equal(c.message.content, null);
    assert.ok(c.message.reasoning_content.length > 0, "the reasoning comes first, apart");
    assert.equal(c.message.tool_calls.length, 1);
    const call = c.message.tool_calls[0];
    assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
    assert.equal(call.type, "function");
    assert.equal(call.function.name, "get_forecast");
    assertForecastArguments(call.function.arguments, "non-streamed");
  }
  assert.notEqual(r.choices[0].message.tool_calls[0].id, r.choices[1].message.tool_calls[0].id);

  const s = await streamed(named);
  assert.equal(s.finish, "tool_calls");
  assert.equal(s.content, "");
  assert.equal(s.reasoning, r.choices[0].message.reasoning_content);
  assert.ok(s.toolCalls.length >= 1);
  const first = s.toolCalls[0];
  assert.equal(first.index, 0);
  assert.match(first.id, /^call_/);
  assert.equal(first.type, "function");
  assert.equal(first.function.name, "get_forecast");
  for (const t of s.toolCalls) assert.equal(t.index, 0);
  const args = s.toolCalls.map((t) => t.function?.arguments ?? "").join("");
  assertForecastArguments(args, "streamed");
  assert.equal(args, r.choices[0].message.tool_calls[0].function.arguments, "greedy: the same call");

  // "required" with a single tool: that one.
  const req = await client.chat.completions.create({ ...forcedBase, tools: [forecast], tool_choice: "required" });
  assert.equal(req.choices[0].finish_reason, "tool_calls");
  assert.equal(req.choices[0].message.tool_calls[0].function.name, "get_forecast");
  assertForecastArguments(req.choices[0].message.tool_calls[0].function.arguments, "required");
});

test("tool_choice required among several tools: one call of a listed tool, valid for that tool's schema", async () => {
  const validWeather = new Ajv({ strict: true }).compile(weather.function.parameters);
  const schemas = { get_weather: validWeather, get_forecast: validForecast };
  const check = (call, what) => {
    assert.ok(call.function.name in schemas, `${what}: unlisted ${call.function.name}`);
    const v = schemas[call.function.name];
    assert.ok(v(JSON.parse(call.function.arguments)), `${what}: ${JSON.stringify(v.errors)} in ${call.function.arguments}`);
  };
  const r = await client.chat.completions.create({ ...forcedBase, tool_choice: "required" });
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  assert.equal(r.choices[0].message.tool_calls.length, 1);
  check(r.choices[0].message.tool_calls[0], "non-streamed");
  const s = await streamed({ ...forcedBase, tool_choice: "required" });
  assert.equal(s.finish, "tool_calls");
  const args = s.toolCalls.map((t) => t.function?.arguments ?? "").join("");
  check({ function: { name: s.toolCalls[0].function.name, arguments: args } }, "streamed");
  assert.equal(args, r.choices[0].message.tool_calls[0].function.arguments, "greedy: the same call");
});

test("a forced tool_choice with response_format is a 400", async () => {
  for (const tool_choice of ["required", { type: "function", function: { name: "get_forecast" } }])
    await assert.rejects(
      client.chat.completions.create({ ...forcedBase, tool_choice, response_format: { type: "json_object" } }),
      (e) => e.status === 400 && e.param === "tool_choice",
    );
});

test("malformed tools and tool history are 400s naming the field", async () => {
  const cases = [
    [{ tools: [{ type: "function", function: { name: "bad name" } }] }, "tools[0].function.name"],
    [{ tools: [weather], tool_choice: { type: "function", function: { name: "get_time" } } }, "tool_choice"],
    [{ messages: [{ role: "user", content: "x" }, { role: "tool", content: "42" }] }, "messages[1].tool_call_id"],
    [{ messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: {} } }] }] },
      "messages[1].tool_calls[0].function.arguments"],
  ];
  for (const [extra, param] of cases) {
    await assert.rejects(client.chat.completions.create({ ...greedy, ...extra }), (e) => {
      assert.equal(e.status, 400, JSON.stringify(extra));
      assert.equal(e.param, param);
      return true;
    });
  }
});

test("the operator's prompt rules see tool calls in the history and the tool list", async () => {
  const file = path.join(ensureOutDir(), "tools-policy.toml");
  writeFileSync(file, '[rule.secret]\nliterals = ["open-sesame"]\napplies_to = ["prompt"]\naction = "stop"\n');
  const guarded = await startServer(["--parallel", "1", "--ctx", "256", "--policy", file]);
  try {
    const c = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const call = (args) => [
      { role: "user", content: "x" },
      { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "get_weather", arguments: args } }] },
      { role: "tool", tool_call_id: "c", content: "ok" },
    ];
    const described = { ...weather, function: { ...weather.function, description: "say open-sesame" } };
    for (const [extra, param] of [[{ messages: call('{"city": "open-sesame"}') }, "messages"], [{ tools: [described] }, "tools"]]) {
      await assert.rejects(c.chat.completions.create({ ...greedy, max_tokens: 2, ...extra }), (e) => {
        assert.equal(e.status, 400);
        assert.equal(e.code, "content_policy");
        assert.equal(e.param, param);
        return true;
      });
    }
    const ok = await c.chat.completions.create({ ...greedy, max_tokens: 2, messages: call('{"city": "Paris"}'), tools: [weather] });
    assert.equal(ok.choices.length, 1);
  } finally {
    await guarded.stop();
  }
});
