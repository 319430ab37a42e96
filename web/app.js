// The web chat served at / by `whale serve`: conversations (store.js) in a sidebar, answers streamed from
// /v1/chat/completions and rendered as markdown (markdown.js), per-message actions (copy, regenerate, edit, delete,
// retry), settings and the theme in localStorage.
"use strict";

const $ = (id) => document.getElementById(id);
const log = $("log"), input = $("input"), sendButton = $("send"), stopButton = $("stop");

// ---- Settings: each field is saved as it changes ("whale.<name>"; the first three predate this page).
const kSettings = { "temperature": "whale.temperature", "max-tokens": "whale.max-tokens", "api-key": "whale.api-key",
                    "top-p": "whale.top-p", "system-prompt": "whale.system-prompt", "theme": "whale.theme" };
for (const [id, key] of Object.entries(kSettings)) {
  const saved = localStorage.getItem(key);
  if (saved !== null) $(id).value = saved;
  const persist = () => localStorage.setItem(key, $(id).value);
  $(id).addEventListener("input", persist);
  $(id).addEventListener("change", persist);
}

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: "Bearer " + key } : {};
}

// Sampling fields left empty are not sent: the server's defaults (generation_config.json) apply.
function requestBody(messages) {
  const body = { messages, stream: true, stream_options: { include_usage: true } };
  for (const [id, field] of [["temperature", "temperature"], ["top-p", "top_p"], ["max-tokens", "max_tokens"]]) {
    const value = $(id).value.trim();
    if (value !== "" && Number.isFinite(Number(value))) body[field] = Number(value);
  }
  return body;
}

// ---- Theme: the saved choice ("light", "dark"), else the system's (index.html sets it before the first paint).
const darkQuery = matchMedia("(prefers-color-scheme: dark)");
function applyTheme() {
  const chosen = $("theme").value;
  const theme = chosen === "light" || chosen === "dark" ? chosen : darkQuery.matches ? "dark" : "light";
  document.documentElement.dataset.theme = theme;
  $("hljs-light").disabled = theme === "dark";
  $("hljs-dark").disabled = theme !== "dark";
}
$("theme").addEventListener("change", applyTheme);
darkQuery.addEventListener("change", applyTheme);
$("theme-toggle").addEventListener("click", () => {
  $("theme").value = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem(kSettings.theme, $("theme").value);
  applyTheme();
});

// ---- The model label: GET /v1/models with the key; again whenever the key changes.
let modelRequest = 0, keyTimer = 0;
async function fetchModel() {
  const seq = ++modelRequest;
  let text, warn = true, title = "";
  try {
    const r = await fetch("/v1/models", { headers: authHeaders() });
    if (r.status === 401) {
      text = "key required";
      title = $("api-key").value.trim() ? "the server rejected this API key (Settings)" : "set the API key in Settings";
    } else if (!r.ok) {
      text = `model: ? (HTTP ${r.status})`;
    } else {
      const j = await r.json();
      text = "model: " + (j.data && j.data[0] ? j.data[0].id : "?");
      warn = false;
    }
  } catch {
    text = "server unreachable";
  }
  if (seq !== modelRequest) return;  // a newer request (the key changed meanwhile) wins
  $("model").textContent = text;
  $("model").title = title;
  $("model").classList.toggle("warn", warn);
}
$("api-key").addEventListener("input", () => {
  clearTimeout(keyTimer);
  keyTimer = setTimeout(fetchModel, 250);
});

// ---- Small DOM helpers
function el(tag, className = "", text = "") {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}
function button(text, className, title, onClick) {
  const b = el("button", className, text);
  b.type = "button";
  if (title) b.title = title;
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    onClick(e);
  });
  return b;
}
function flash(b, text) {
  const old = b.textContent;
  b.textContent = text;
  setTimeout(() => (b.textContent = old), 1200);
}
async function copyText(text, b) {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch {}
  if (!ok) {  // plain http on another host is not a secure context: no clipboard API
    const area = el("textarea");
    area.value = text;
    area.style.cssText = "position:fixed;opacity:0";
    document.body.append(area);
    area.select();
    try {
      ok = document.execCommand("copy");
    } catch {}
    area.remove();
  }
  flash(b, ok ? "copied" : "copy failed");
}

// ---- State: the conversations, and the one answer that may be streaming.
let state = Store.load();
let active = null;  // {conversation, reply, controller} while an answer streams
const current = () => state.conversations.find((c) => c.id === state.current);
const save = () => Store.save(state);

function setBusy(busy) {
  sendButton.disabled = busy;
  stopButton.disabled = !busy;
  document.body.classList.toggle("busy", busy);
}

// ---- The sidebar
function renderSidebar() {
  const nav = $("conversations");
  nav.replaceChildren();
  for (const c of Store.sorted(state.conversations)) {
    const item = el("div", "conv" + (c.id === state.current ? " active" : ""));
    item.dataset.id = c.id;
    const title = el("span", "title" + (c.title ? "" : " untitled"), c.title || "New chat");
    title.title = c.title;
    const rename = button("✎", "rename icon", "Rename", () => startRename(c, title));
    const remove = button("×", "delete icon", "Delete (click twice)", () => confirmDelete(c, remove));
    item.append(title, rename, remove);
    item.addEventListener("click", () => switchTo(c.id));
    nav.append(item);
  }
}

function startRename(c, title) {
  const field = el("input");
  field.value = c.title;
  field.placeholder = "(from the first message)";
  let done = false;
  const finish = (keep) => {
    if (done) return;
    done = true;
    if (keep) {
      c.title = field.value.trim();
      c.titled = !!c.title;  // an empty name: back to the automatic one
      Store.autoTitle(c);
      save();
    }
    renderSidebar();
  };
  field.addEventListener("click", (e) => e.stopPropagation());
  field.addEventListener("keydown", (e) => {
    if (e.key === "Enter") finish(true);
    if (e.key === "Escape") finish(false);
  });
  field.addEventListener("blur", () => finish(true));
  title.replaceWith(field);
  field.focus();
  field.select();
}

// The first click arms the button, a second one within 3 s deletes.
function confirmDelete(c, b) {
  if (!b.classList.contains("confirm")) {
    b.classList.add("confirm");
    b.textContent = "delete?";
    setTimeout(() => {
      b.classList.remove("confirm");
      b.textContent = "×";
    }, 3000);
    return;
  }
  if (active && active.conversation === c) active.controller.abort();
  state.conversations = state.conversations.filter((x) => x !== c);
  if (!state.conversations.length) state.conversations.push(Store.create());
  if (state.current === c.id) state.current = Store.sorted(state.conversations)[0].id;
  save();
  renderAll();
}

function switchTo(id) {
  document.body.classList.remove("sidebar-open");
  if (id === state.current) return;
  state.current = id;
  save();
  renderAll();
}

function newChat() {
  document.body.classList.remove("sidebar-open");
  if (current().messages.length) {
    const busy = active && active.conversation;
    state.conversations = state.conversations.filter((c) => c.messages.length || c === busy);  // one empty one at most
    const c = Store.create();
    state.conversations.push(c);
    state.current = c.id;
    save();
    renderAll();
  }
  input.focus();
}

// ---- The messages
let views = new WeakMap();  // message → {div, m, details, reasoning, content, ...} of the open conversation
let fillTimer = 0;

function renderAll() {
  renderSidebar();
  renderLog();
}

function renderLog() {
  const c = current();
  views = new WeakMap();
  log.replaceChildren();
  if (!c.messages.length)
    log.append(el("div", "empty", "Ask anything: answers render markdown, code and math ($x^2$)."));
  c.messages.forEach((m) => log.append(messageView(c, m)));
  log.scrollTop = log.scrollHeight;
}

// Rebuilds one message's view in place (its status, stats or actions changed).
function refreshMessage(c, m) {
  const old = views.get(m);
  if (c !== current() || !old) return;
  const stick = nearBottom();
  old.div.replaceWith(messageView(c, m));
  if (stick) log.scrollTop = log.scrollHeight;
}

const nearBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 60;

function messageView(c, m) {
  const last = c.messages[c.messages.length - 1] === m;
  const div = el("div", `msg ${m.role}`);
  if (m.status === "stopped") div.classList.add("stopped");
  if (m.status === "error") div.classList.add("failed");
  const head = el("div", "head");
  head.append(el("span", "role", m.role));
  if (m.status) head.append(el("span", "badge", m.status === "error" ? "failed" : m.status));
  const actions = el("div", "actions");
  if (!m.pending) {
    if (m.content)
      actions.append(button("copy", "copy", "Copy as markdown", (e) => copyText(m.content, e.currentTarget)));
    if (m.role === "user")
      actions.append(button("edit", "edit", "Edit, then ask again from here", () => startEdit(c, m)));
    if (m.role === "assistant" && last && m.status !== "error")
      actions.append(button("regenerate", "regenerate", "Ask again for this answer", () => reask(c, m)));
    actions.append(button("delete", "delete", "Delete this message", () => deleteMessage(c, m)));
  }
  head.append(actions);
  div.append(head);
  const view = { div, m, shownReasoning: null, shownContent: null };
  views.set(m, view);
  if (m.role === "user") {
    view.content = el("div", "content");
    view.content.textContent = m.content;  // plain text: white-space keeps the line breaks
    div.append(view.content);
    return div;
  }
  view.details = el("details", "reasoning");
  view.details.append(el("summary", "", "Reasoning"));
  view.reasoning = el("div", "md");
  view.details.append(view.reasoning);
  view.details.open = !!m.pending && !m.content;  // open while it streams, folded once the answer starts
  view.content = el("div", "content md");
  div.append(view.details, view.content);
  if (m.status === "error") {
    const error = el("div", "error");
    error.append(el("span", "", "Error: " + (m.error || "the request failed")),
                 button("retry", "retry", "Send this turn again", () => reask(c, m)));
    div.append(error);
  }
  if (m.stats) div.append(el("div", "stats", m.stats));
  fill(view, !m.pending);
  return div;
}

// Brings an assistant view up to date with its message (called while it streams, and once when built).
function fill(view, final) {
  const m = view.m;
  if (view.shownReasoning !== m.reasoning) {
    view.details.hidden = !m.reasoning;
    if (m.reasoning) Markdown.render(view.reasoning, m.reasoning, { final });
    view.shownReasoning = m.reasoning;
  }
  if (view.shownContent !== m.content) {
    if (m.content) Markdown.render(view.content, m.content, { final });
    else view.content.replaceChildren();
    if (m.content && view.details.open && m.pending && !view.folded) view.details.open = false;
    view.folded = view.folded || !!m.content;
    view.shownContent = m.content;
  }
  if (final) {
    addCodeCopyButtons(view.div);
  }
  const waiting = m.pending && !m.reasoning && !m.content;  // sent, no token yet
  if (waiting && !view.thinking) {
    view.thinking = el("div", "thinking");
    view.thinking.append(el("span", "", "thinking"), el("span", "dots"));
    view.thinking.lastChild.append(el("i"), el("i"), el("i"));
    view.content.before(view.thinking);
  } else if (!waiting && view.thinking) {
    view.thinking.remove();
    view.thinking = null;
  }
}

function addCodeCopyButtons(root) {
  for (const pre of root.querySelectorAll(".md pre")) {
    const code = pre.querySelector("code");
    if (!code) continue;
    pre.append(button("copy", "code-copy", "Copy the code", (e) => copyText(code.textContent, e.currentTarget)));
  }
}

// While an answer streams, its view is redrawn at most every 40 ms.
function scheduleFill(m) {
  if (fillTimer) return;
  fillTimer = setTimeout(() => {
    fillTimer = 0;
    const view = views.get(m);
    if (!view) return;
    const stick = nearBottom();
    fill(view, false);
    if (stick) log.scrollTop = log.scrollHeight;
  }, 40);
}

function startEdit(c, m) {
  const view = views.get(m);
  if (active || !view) return;
  const editor = el("div", "editor");
  const area = el("textarea");
  area.value = m.content;
  const submit = () => {
    const text = area.value.trim();
    if (!text || active) return;
    m.content = text;
    const i = c.messages.indexOf(m);
    c.messages.length = i + 1;  // what followed answered the old text
    ask(c, i + 1);
  };
  area.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit();
    if (e.key === "Escape") refreshMessage(c, m);
  });
  const buttons = el("div", "buttons");
  buttons.append(button("Cancel", "cancel secondary", "", () => refreshMessage(c, m)),
                 button("Save & ask", "save", "Ctrl+Enter", submit));
  editor.append(area, buttons);
  view.content.replaceWith(editor);
  area.focus();
}

function deleteMessage(c, m) {
  if (active) return;
  c.messages = c.messages.filter((x) => x !== m);
  save();
  renderLog();
}

// Regenerate (the last answer) and retry (a failed turn, anywhere): drop the answer, ask again at its place.
function reask(c, m) {
  if (active) return;
  const i = c.messages.indexOf(m);
  if (i < 0) return;
  c.messages.splice(i, 1);
  ask(c, i);
}

// What a request sends for messages[0, end): the system prompt, then the turns, less the failed ones (an error
// answer and the user message it answered) and answers stopped before any text.
function requestMessages(messages) {
  const out = [];
  const system = $("system-prompt").value.trim();
  if (system) out.push({ role: "system", content: system });
  messages.forEach((m, i) => {
    const next = messages[i + 1];
    if (m.role === "assistant" && (m.status === "error" || m.pending || !m.content)) return;
    if (m.role === "user" && next && next.role === "assistant" && next.status === "error") return;
    out.push({ role: m.role, content: m.content });
  });
  return out;
}

// Reads an SSE response and calls onEvent(json) for each "data:" event until [DONE].
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith("data: ")) continue;  // comments (keep-alive)
      const data = event.slice(6);
      if (data === "[DONE]") return;
      try {
        onEvent(JSON.parse(data));
      } catch (e) {
        reader.cancel().catch(() => {});
        throw e;
      }
    }
  }
}

async function errorMessage(response) {
  let message = "";
  try {
    const body = await response.json();
    message = (body.error && body.error.message) || "";
  } catch {}
  return `HTTP ${response.status}: ${message || response.statusText || "the request failed"}`;
}

// "length · 24 tokens · 61.3 tok/s · first token 0.15 s · 0.5 s": the finish reason first (stop, length, stopped,
// error), then the completion tokens (the usage chunk), the rate and the times. The rate is the decode rate, the
// tokens after the first over the time since it; when they all came at once (a small model, a buffering proxy), the
// tokens over the whole time.
function statsLine(finish, started, first, end, usage) {
  const parts = [finish || "?"];
  const tokens = usage ? usage.completion_tokens : undefined;
  if (Number.isFinite(tokens)) {
    parts.push(`${tokens} token${tokens === 1 ? "" : "s"}`);
    const decode = (end - first) / 1000, total = (end - started) / 1000;
    const rate = first && tokens > 1 && decode >= 0.05 ? (tokens - 1) / decode : tokens / total;
    if (tokens > 0 && Number.isFinite(rate)) parts.push(`${rate.toFixed(1)} tok/s`);
  }
  parts.push(`first token ${first ? ((first - started) / 1000).toFixed(2) + " s" : "-"}`);
  parts.push(`${((end - started) / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

// Asks for an answer to messages[0, index) of conversation c, streamed into a new message at index.
async function ask(c, index) {
  if (active) return;
  const reply = { role: "assistant", content: "", reasoning: "", pending: true };
  c.messages.splice(index, 0, reply);
  const messages = requestMessages(c.messages.slice(0, index));
  c.updated = Date.now();
  Store.autoTitle(c);
  save();
  if (c === current()) renderAll();
  const controller = new AbortController();
  active = { conversation: c, reply, controller };
  setBusy(true);
  const started = performance.now();
  let first = 0, finish = "", usage = null;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      signal: controller.signal,
      body: JSON.stringify(requestBody(messages)),
    });
    if (!response.ok) {
      if (response.status === 401) fetchModel();
      throw new Error(await errorMessage(response));
    }
    await readEvents(response, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message || "the server reported an error");
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      const delta = choice.delta || {};
      if ((delta.reasoning_content || delta.content) && !first) first = performance.now();
      if (delta.reasoning_content) reply.reasoning += delta.reasoning_content;
      if (delta.content) reply.content += delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
      scheduleFill(reply);
    });
    if (!finish) throw new Error("the connection closed before the answer was complete");
  } catch (e) {
    if (e.name === "AbortError") {
      reply.status = "stopped";
      finish = "stopped";
    } else {
      reply.status = "error";
      reply.error = e instanceof TypeError ? "network error: " + e.message : e.message;
      finish = "error";
    }
  }
  clearTimeout(fillTimer);
  fillTimer = 0;
  delete reply.pending;
  if (!reply.reasoning) delete reply.reasoning;
  reply.finish = finish;
  reply.stats = statsLine(finish, started, first, performance.now(), usage);
  active = null;
  save();
  setBusy(false);
  refreshMessage(c, reply);
  if (c === current() && !document.querySelector(".editor")) input.focus();
}

function send() {
  const text = input.value.trim();
  if (!text || active) return;
  input.value = "";
  const c = current();
  c.messages.push({ role: "user", content: text });
  ask(c, c.messages.length);
}

// ---- Wiring
sendButton.addEventListener("click", send);
stopButton.addEventListener("click", () => active && active.controller.abort());
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
$("new-chat").addEventListener("click", newChat);
$("sidebar-toggle").addEventListener("click", () => {
  if (matchMedia("(max-width: 800px)").matches) document.body.classList.toggle("sidebar-open");
  else document.body.classList.toggle("sidebar-collapsed");
});
$("sidebar-backdrop").addEventListener("click", () => document.body.classList.remove("sidebar-open"));
$("settings-toggle").addEventListener("click", () => ($("settings").hidden = !$("settings").hidden));
$("settings-close").addEventListener("click", () => ($("settings").hidden = true));
// Another tab changed the conversations: show them (this tab keeps its open conversation when it still exists).
window.addEventListener("storage", (e) => {
  if (e.key !== Store.listKey || active) return;
  const open = state.current;
  state = Store.load();
  if (state.conversations.some((c) => c.id === open)) state.current = open;
  renderAll();
});

applyTheme();
renderAll();
fetchModel();
input.focus();
