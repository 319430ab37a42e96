// The web chat in Debian's chromium (playwright-core): type a message, see the reasoning block and the streamed
// answer, stop an answer; markdown, code and math rendering (a stored conversation: the test model cannot write
// markdown), regenerate, edit, the conversation list, a failed turn that is never sent again, the model label behind
// an API key, the themes, and the embedded assets. Screenshots go to the test output directory.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { ensureOutDir, modelName, reasoningChat, startServer } from "./helpers.mjs";

const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const skip = !existsSync(chromiumPath) && `no ${chromiumPath}`;
const apiKey = "sk-browser-test";
let server, keyServer, browser;

before(async () => {
  server = await startServer(["--parallel", "2", "--ctx", "256"]);
  keyServer = await startServer(["--parallel", "2", "--ctx", "256", "--api-key", apiKey]);
  if (existsSync(chromiumPath))
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (keyServer) await keyServer.stop();
});

// A page in a context of its own (its own localStorage) that records script errors, the chat requests' bodies and
// every URL it loads.
async function newPage(options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.errors = [];
  page.chatBodies = [];
  page.urls = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  page.on("request", (r) => {
    page.urls.push(r.url());
    if (r.url().endsWith("/v1/chat/completions")) page.chatBodies.push(r.postDataJSON());
  });
  page.done = async () => {
    assert.deepEqual(page.errors, [], "script errors on the page");
    await context.close();
  };
  return page;
}

async function openSettings(page) {
  if (await page.locator("#settings").isHidden()) await page.click("#settings-toggle");
}

// Sends text and waits for its answer's stats line; returns the answer's locator.
async function sendAndWait(page, text) {
  const before = await page.locator(".msg.assistant .stats").count();
  await page.fill("#input", text);
  await page.click("#send");
  const answered = (n) =>
    document.querySelectorAll(".msg.assistant .stats").length > n && !document.body.classList.contains("busy");
  await page.waitForFunction(answered, before, { timeout: 20000 });
  return page.locator(".msg.assistant").last();
}

// Stores conversations before the page's scripts run (only when there are none yet: a reload keeps what the page
// saved).
async function seed(page, conversations, current) {
  await page.addInitScript(([list, open]) => {
    if (localStorage.getItem("whale.conversations") !== null) return;
    localStorage.setItem("whale.conversations", JSON.stringify(list));
    localStorage.setItem("whale.current", open);
  }, [conversations, current]);
}

const markdownAnswer = [
  "Here is **bold**, *em* and `inline $x$ code`.",
  "",
  "```js",
  "const answer = 42; // the answer",
  "```",
  "",
  "Inline $x^2$ and \\(a_b\\), costs $5 and $10.",
  "",
  "$$\\int_0^1 f(x)\\,dx$$",
  "",
  "\\[\\sum_i i\\]",
  "",
  "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>",
  "",
  "| a | b |",
  "|---|---|",
  "| 1 | 2 |",
].join("\n");
const markdownConversation = {
  id: "md", title: "Markdown", titled: true, created: 1, updated: 2,
  messages: [
    { role: "user", content: "Show me markdown\nwith <b>tags</b>" },
    { role: "assistant", content: markdownAnswer, reasoning: "Think *hard* about $y$.", finish: "stop",
      stats: "stop · 42 tokens · 100.0 tok/s · first token 0.10 s · 0.5 s" },
  ],
};

test("chat page streams the reasoning and the answer", { skip }, async () => {
  const page = await newPage();
  await page.goto(server.url + "/");
  await openSettings(page);
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", "24");
  await page.fill("#input", reasoningChat);
  await page.click("#send");
  const reply = page.locator(".msg.assistant").last();
  await reply.locator(".stats").waitFor({ timeout: 20000 });  // written when the stream ends
  const reasoning = reply.locator("details.reasoning");
  assert.ok(await reasoning.isVisible(), "reasoning block not shown");
  assert.ok((await reasoning.locator(":scope > div").textContent()).length > 0, "reasoning is empty");
  assert.ok((await reply.locator(".content").textContent()).length > 0, "answer is empty");
  const stats = await reply.locator(".stats").textContent();
  assert.match(stats, /^length · 24 tokens · [\d.]+ tok\/s · first token [\d.]+ s · [\d.]+ s$/);
  assert.deepEqual(page.chatBodies[0].stream_options, { include_usage: true });
  assert.deepEqual(page.chatBodies[0].messages, [{ role: "user", content: reasoningChat }]);
  assert.equal(await page.locator(".thinking").count(), 0);
  await reasoning.locator("summary").click();  // unfold it for the screenshot
  const file = path.join(ensureOutDir(), "web_chat.png");
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(existsSync(file));

  // A second turn keeps the history; the stop button ends an answer that is still waiting: both slots are
  // taken by long requests first and more wait in the queue (~0.5 s each on 2 slots), so the stop cannot
  // lose a race with a fast finish. While it waits, the page shows that it is thinking.
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
  await page.locator(".msg.assistant").last().locator(".thinking").waitFor({ timeout: 5000 });
  await page.click("#stop");
  await page.locator(".msg.assistant").last().locator(".stats").waitFor({ timeout: 10000 });
  assert.match(await page.locator(".msg.assistant").last().locator(".stats").textContent(), /^stopped/);
  assert.equal(await page.locator(".msg.user").count(), 2);
  assert.equal(page.chatBodies[1].messages.length, 3);  // the first turn, then "And then?"
  for (const r of await Promise.all(busy)) assert.equal(r.status, 200);

  // The stopped answer is kept, marked stopped, after a reload too.
  await page.reload();
  assert.equal(await page.locator(".msg.user").count(), 2);
  assert.equal(await page.locator(".msg.assistant.stopped").count(), 1);
  assert.match(await page.locator(".msg.assistant").last().locator(".stats").textContent(), /^stopped/);
  assert.equal(await page.locator(".thinking").count(), 0);
  await page.done();
});

test("answers render as sanitised markdown with highlighted code and KaTeX math", { skip }, async () => {
  const page = await newPage({ permissions: ["clipboard-read", "clipboard-write"] });
  await seed(page, [markdownConversation], "md");
  await page.goto(server.url + "/");
  const answer = page.locator(".msg.assistant .content");
  assert.equal(await answer.locator("strong").textContent(), "bold");
  assert.equal(await answer.locator("em").textContent(), "em");
  const code = answer.locator("pre code");
  assert.match(await code.getAttribute("class"), /\bhljs\b/);
  assert.ok(await code.locator(".hljs-keyword").count() > 0, "no highlight.js spans in the js block");
  assert.equal(await code.locator(".hljs-keyword").first().textContent(), "const");
  // $x^2$, \(a_b\), $$...$$ and \[...\]: four formulas, two of them displayed; "$5 and $10" is not math, nor is
  // $x$ in a code span.
  assert.equal(await answer.locator(".katex").count(), 4);
  assert.equal(await answer.locator(".katex-display").count(), 2);
  assert.equal(await answer.locator(".katex annotation").first().textContent(), "x^2");
  assert.match(await answer.textContent(), /costs \$5 and \$10\./);
  assert.equal(await answer.locator(":not(pre) > code").textContent(), "inline $x$ code");
  assert.equal(await answer.locator("table td").count(), 2);
  // Sanitised: no image, no script, nothing ran.
  assert.equal(await answer.locator("img, script").count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  // The reasoning is markdown too; the user's message is plain text with its line breaks.
  assert.equal(await page.locator("details.reasoning em").textContent(), "hard");
  assert.equal(await page.locator("details.reasoning .katex").count(), 1);
  const user = page.locator(".msg.user .content");
  assert.equal(await user.textContent(), "Show me markdown\nwith <b>tags</b>");
  assert.equal(await user.locator("b").count(), 0);
  assert.equal(await user.evaluate((e) => getComputedStyle(e).whiteSpace), "pre-wrap");
  // KaTeX's fonts come from the binary; nothing is loaded from anywhere else.
  assert.ok(await page.evaluate(async () => {
    await document.fonts.load("16px KaTeX_Main");
    return document.fonts.check("16px KaTeX_Main");
  }), "the KaTeX font did not load");
  assert.deepEqual(page.urls.filter((u) => !u.startsWith(server.url) && !u.startsWith("data:")), []);
  const dir = ensureOutDir();
  await page.screenshot({ path: path.join(dir, "web_chat_markdown_light.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });  // follows the system's theme...
  await page.waitForFunction(() => document.documentElement.dataset.theme === "dark");
  assert.equal(await page.evaluate(() => document.getElementById("hljs-dark").disabled), false);
  await page.screenshot({ path: path.join(dir, "web_chat_markdown_dark.png"), fullPage: true });
  assert.ok(existsSync(path.join(dir, "web_chat_markdown_dark.png")));
  await page.click("#theme-toggle");  // ...unless told otherwise, which is remembered
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
  await page.reload();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
  assert.equal(await page.evaluate(() => document.getElementById("hljs-light").disabled), false);

  // Copy puts the answer's markdown on the clipboard.
  await page.locator(".msg.assistant .actions .copy").click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), markdownAnswer);

  // A narrow screen: the conversation list slides in from a button.
  await page.setViewportSize({ width: 480, height: 800 });
  await page.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().right <= 0);  // hidden
  await page.click("#sidebar-toggle");
  await page.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().x >= 0);
  await page.screenshot({ path: path.join(dir, "web_chat_narrow.png") });
  await page.done();
});

test("the history of the previous page becomes a conversation", { skip }, async () => {
  const page = await newPage();
  await page.addInitScript(() => {
    if (localStorage.getItem("whale.conversations") === null)
      localStorage.setItem("whale.history", JSON.stringify([
        { role: "user", content: "An old question" }, { role: "assistant", content: "An old **answer**" }]));
  });
  await page.goto(server.url + "/");
  assert.equal(await page.locator(".conv .title").textContent(), "An old question");
  assert.equal(await page.locator(".msg.assistant .content strong").textContent(), "answer");
  assert.ok(await page.locator("details.reasoning").isHidden(), "an empty reasoning block is shown");
  assert.equal(await page.evaluate(() => localStorage.getItem("whale.history")), null);
  await page.done();
});

test("regenerate: a new answer for the same history; edit; delete; the settings", { skip }, async () => {
  const page = await newPage();
  await page.goto(server.url + "/");
  await openSettings(page);
  await page.fill("#max-tokens", "8");
  await page.fill("#temperature", "");  // empty: not sent, the server's default applies
  await page.fill("#top-p", "0.9");
  await page.fill("#system-prompt", "Be brief.");
  const system = { role: "system", content: "Be brief." };
  await sendAndWait(page, "Tell me something");
  assert.deepEqual(page.chatBodies[0].messages, [system, { role: "user", content: "Tell me something" }]);
  assert.equal(page.chatBodies[0].max_tokens, 8);
  assert.equal(page.chatBodies[0].top_p, 0.9);
  assert.ok(!("temperature" in page.chatBodies[0]));
  await page.evaluate(() => document.querySelector(".msg.assistant").setAttribute("data-old", "1"));
  await page.locator(".msg.assistant .actions .regenerate").click();
  await page.locator(".msg.assistant:not([data-old]) .stats").waitFor({ timeout: 20000 });
  assert.equal(await page.locator(".msg.assistant").count(), 1);
  assert.equal(await page.locator(".msg.user").count(), 1);
  assert.equal(page.chatBodies.length, 2);
  assert.deepEqual(page.chatBodies[1].messages, page.chatBodies[0].messages);
  assert.match(await page.locator(".msg.assistant .stats").textContent(), /^(length|stop)/);

  // Edit the question: what followed goes, the new text is asked; delete removes one message.
  await page.locator(".msg.user .actions .edit").click();
  await page.fill(".msg.user .editor textarea", "Tell me something else");
  await page.locator(".msg.user .editor .save").click();
  await page.waitForFunction(() => document.querySelectorAll(".msg.assistant .stats").length === 1 &&
                                   !document.body.classList.contains("busy"), null, { timeout: 20000 });
  assert.equal(await page.locator(".msg").count(), 2);
  assert.equal(await page.locator(".msg.user .content").textContent(), "Tell me something else");
  assert.deepEqual(page.chatBodies[2].messages, [system, { role: "user", content: "Tell me something else" }]);
  await page.locator(".msg.assistant .actions .delete").click();
  assert.equal(await page.locator(".msg").count(), 1);
  await page.reload();
  assert.equal(await page.locator(".msg").count(), 1);
  // The settings were saved.
  assert.equal(await page.inputValue("#system-prompt"), "Be brief.");
  assert.equal(await page.inputValue("#top-p"), "0.9");
  assert.equal(await page.inputValue("#max-tokens"), "8");
  assert.equal(await page.inputValue("#temperature"), "");
  await page.done();
});

test("conversations: new, switch, rename, delete, kept across reloads", { skip }, async () => {
  const page = await newPage();
  await page.goto(server.url + "/");
  await openSettings(page);
  await page.fill("#max-tokens", "4");
  await sendAndWait(page, "First chat\nsecond line");
  await page.click("#new-chat");
  assert.equal(await page.locator(".msg").count(), 0);
  await sendAndWait(page, "Second chat");
  const titles = () => page.locator(".conv .title").allTextContents();
  assert.deepEqual(await titles(), ["Second chat", "First chat"]);  // auto titles, the latest first
  assert.equal(page.chatBodies[1].messages.length, 1);  // a new conversation starts a new history

  await page.locator(".conv", { hasText: "First chat" }).click();
  assert.equal(await page.locator(".msg.user .content").textContent(), "First chat\nsecond line");
  await page.reload();
  assert.deepEqual(await titles(), ["Second chat", "First chat"]);
  assert.equal(await page.locator(".conv.active .title").textContent(), "First chat");
  assert.equal(await page.locator(".msg.user .content").textContent(), "First chat\nsecond line");

  await page.locator(".conv.active .rename").click();
  await page.fill(".conv.active input", "Renamed");
  await page.press(".conv.active input", "Enter");
  assert.equal(await page.locator(".conv.active .title").textContent(), "Renamed");
  const second = page.locator(".conv", { hasText: "Second chat" });
  await second.locator(".delete").click();
  await second.locator(".delete").click();  // the second click confirms
  await page.reload();
  assert.deepEqual(await titles(), ["Renamed"]);
  assert.equal(await page.locator(".msg.user .content").textContent(), "First chat\nsecond line");
  await page.done();
});

test("with an API key: the model label, a failed turn not sent again, retry", { skip }, async () => {
  const page = await newPage();
  await page.goto(keyServer.url + "/");
  await page.locator("#model", { hasText: "key required" }).waitFor();
  await openSettings(page);
  await page.fill("#api-key", "sk-wrong");
  await page.fill("#max-tokens", "4");
  await page.fill("#input", "This turn fails");
  await page.click("#send");
  const failed = page.locator(".msg.assistant.failed");
  await failed.locator(".error").waitFor({ timeout: 10000 });
  assert.match(await failed.locator(".error").textContent(), /HTTP 401: Incorrect API key/);
  assert.ok(await failed.locator(".retry").isVisible());
  assert.match(await failed.locator(".stats").textContent(), /^error/);
  assert.equal(await page.locator("#model").textContent(), "key required");

  await page.fill("#api-key", apiKey);  // the label follows the key
  await page.locator("#model", { hasText: `model: ${modelName}` }).waitFor({ timeout: 5000 });
  await sendAndWait(page, "This turn works");
  assert.equal(page.chatBodies.length, 2, "the failed turn was sent again");
  assert.deepEqual(page.chatBodies[1].messages, [{ role: "user", content: "This turn works" }]);
  assert.match(await page.locator(".msg.assistant").last().locator(".stats").textContent(), /^(length|stop)/);
  assert.equal(await page.locator(".msg.assistant.failed").count(), 1);  // still shown, with its retry button

  await failed.locator(".retry").click();  // asks that turn again, in its place
  await page.waitForFunction(() => !document.querySelector(".msg.failed") && !document.body.classList.contains("busy"),
                             null, { timeout: 20000 });
  assert.deepEqual(page.chatBodies[2].messages, [{ role: "user", content: "This turn fails" }]);
  assert.equal(await page.locator(".msg.assistant .stats").count(), 2);
  assert.deepEqual(await page.locator(".msg.user .content").allTextContents(), ["This turn fails", "This turn works"]);
  await page.done();
});

test("assets are served from the binary without a key, cached, byte-exact", async () => {
  for (const [url, type] of [["/assets/app.js", "text/javascript"], ["/assets/katex/katex.min.css", "text/css"],
                             ["/assets/katex/fonts/KaTeX_Main-Regular.woff2", "font/woff2"]]) {
    const r = await fetch(keyServer.url + url);
    assert.equal(r.status, 200, url);
    assert.ok(r.headers.get("content-type").startsWith(type), `${url}: ${r.headers.get("content-type")}`);
    assert.equal(r.headers.get("cache-control"), "public, max-age=86400", url);
  }
  const font = "/usr/share/javascript/katex/fonts/KaTeX_Main-Regular.woff2";
  const fontUrl = keyServer.url + "/assets/katex/fonts/KaTeX_Main-Regular.woff2";
  const bytes = Buffer.from(await (await fetch(fontUrl)).arrayBuffer());
  if (existsSync(font)) assert.ok(bytes.equals(readFileSync(font)), "the font differs from Debian's file");
  const page = await fetch(keyServer.url + "/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script src="\/assets\/app.js">/);
  const missing = await fetch(keyServer.url + "/assets/nope.js");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
  const post = await fetch(keyServer.url + "/assets/app.js",
                           { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  assert.equal(post.status, 405);
  // The metrics count the assets as one endpoint, not one per file (counted after each response: wait for it).
  let metrics = "";
  for (let i = 0; i < 200 && !/endpoint="\/assets\/\{file\}",status="404"\}/.test(metrics); ++i) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const r = await fetch(keyServer.url + "/metrics", { headers: { Authorization: `Bearer ${apiKey}` } });
    metrics = await r.text();
  }
  const served = metrics.match(/endpoint="\/assets\/\{file\}",status="200"\} (\d+)/);
  assert.ok(served && Number(served[1]) >= 4, metrics);
  assert.doesNotMatch(metrics, /endpoint="\/assets\/app/);
});
