// Load generator for `whale serve`: N concurrent streaming chat requests (greedy, fixed max_tokens), repeated
// `rounds` times. Prints one JSON line: aggregate generated tokens/s, time to first token (p50, max) and
// per-stream tokens/s. Token counts come from the server's usage (stream_options.include_usage).
// Usage: node bench/serve_load.mjs URL STREAMS [MAX_TOKENS=64] [ROUNDS=2]
const [url, streamsArg, maxTokensArg = "64", roundsArg = "2"] = process.argv.slice(2);
const streams = Number(streamsArg), maxTokens = Number(maxTokensArg), rounds = Number(roundsArg);

async function one(i) {
  const started = performance.now();
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: `Question ${i}: how do whales sleep?` }],
      temperature: 0, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true },
    }),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const decoder = new TextDecoder();
  let buffer = "", ttft = null, tokens = 0;
  for await (const bytes of r.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith("data: {")) continue;
      const chunk = JSON.parse(event.slice(6));
      const delta = chunk.choices[0] && chunk.choices[0].delta;
      if (ttft === null && delta && (delta.content || delta.reasoning_content)) ttft = (performance.now() - started) / 1000;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return { ttft, tokens, seconds: (performance.now() - started) / 1000 };
}

const results = [];
const t0 = performance.now();
for (let round = 0; round < rounds; ++round)
  results.push(...(await Promise.all(Array.from({ length: streams }, (_, i) => one(round * streams + i)))));
const wall = (performance.now() - t0) / 1000;
const ttfts = results.map((r) => r.ttft).filter((t) => t !== null).sort((a, b) => a - b);
const tokens = results.reduce((s, r) => s + r.tokens, 0);
console.log(JSON.stringify({
  streams, max_tokens: maxTokens, requests: results.length, completion_tokens: tokens,
  aggregate_tokens_per_s: +(tokens / wall).toFixed(1),
  per_stream_tokens_per_s: +(results.reduce((s, r) => s + r.tokens / r.seconds, 0) / results.length).toFixed(1),
  ttft_p50_s: +ttfts[Math.floor(ttfts.length / 2)].toFixed(4), ttft_max_s: +ttfts.at(-1).toFixed(4),
}));
