// The web chat in Debian's chromium (playwright-core): type a message, see the reasoning block and the
// streamed answer, stop an answer; the screenshot goes to the test output directory.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { ensureOutDir, reasoningChat, startServer } from "./helpers.mjs";

const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
let server, browser;

before(async () => {
  server = await startServer(["--parallel", "2", "--ctx", "256"]);
  if (existsSync(chromiumPath))
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test("chat page streams the reasoning and the answer", { skip: !existsSync(chromiumPath) && `no ${chromiumPath}` }, async () => {
  const page = await browser.newPage();
  await page.goto(server.url + "/");
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", "24");
  await page.fill("#input", reasoningChat);
  await page.click("#send");
  const reply = page.locator(".msg.assistant").last();
  await reply.locator(".stats").waitFor({ timeout: 20000 });  // written when the stream ends
  const reasoning = reply.locator("details.reasoning");
  assert.ok(await reasoning.isVisible(), "reasoning block not shown");
  assert.ok((await reasoning.locator("div").textContent()).length > 0, "reasoning is empty");
  assert.ok((await reply.locator(".content").textContent()).length > 0, "answer is empty");
  assert.match(await reply.locator(".stats").textContent(), /^length/);
  await reasoning.locator("summary").click();  // unfold it for the screenshot
  const file = path.join(ensureOutDir(), "web_chat.png");
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(existsSync(file));

  // A second turn keeps the history; the stop button ends an answer that is still waiting: both slots are
  // taken by long requests first and more wait in the queue (~0.5 s each on 2 slots), so the stop cannot
  // lose a race with a fast finish.
  const busy = [0, 1, 2, 3, 4, 5, 6, 7].map(() => fetch(server.url + "/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "x" }], max_tokens: 240, temperature: 0 }),
  }));
  while (!/whale_active_slots 2/.test(await (await fetch(server.url + "/metrics")).text()))
    await new Promise((resolve) => setTimeout(resolve, 5));
  await page.fill("#max-tokens", "200");
  await page.fill("#input", "And then?");
  await page.click("#send");
  await page.click("#stop");
  await page.locator(".msg.assistant").last().locator(".stats").waitFor({ timeout: 10000 });
  assert.match(await page.locator(".msg.assistant").last().locator(".stats").textContent(), /^stopped/);
  assert.equal(await page.locator(".msg.user").count(), 2);
  for (const r of await Promise.all(busy)) assert.equal(r.status, 200);
  await page.close();
});
