// The conversations of the web chat, kept in localStorage:
//   "whale.conversations": [{id, title, titled, created, updated, messages}]   (titled: renamed by hand)
//   "whale.current": the id of the open one
// A message: {role: "user" | "assistant", content, reasoning?, status?, error?, finish?, stats?}, where an assistant
// status is "stopped" (aborted: the partial answer is kept) or "error" (the failed turn, never sent again).
// The page before conversations kept one history in "whale.history" ([{role, content, reasoning?}]): it becomes a
// conversation of its own the first time this page loads.
"use strict";

const Store = (() => {
  const kList = "whale.conversations", kCurrent = "whale.current", kLegacy = "whale.history";
  const kTitleChars = 48;

  const newId = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

  function create() {
    const now = Date.now();
    return { id: newId(), title: "", titled: false, created: now, updated: now, messages: [] };
  }

  // "Explain the difference between TCP and UDP in detail" → "Explain the difference between TCP and UDP in…"
  function autoTitle(conversation) {
    if (conversation.titled) return;
    const first = conversation.messages.find((m) => m.role === "user");
    if (!first) return;
    const line = first.content.trim().split("\n")[0].trim().replace(/\s+/g, " ");
    conversation.title = line.length > kTitleChars ? line.slice(0, kTitleChars - 1).trimEnd() + "…" : line;
  }

  function parse(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch {
      return null;
    }
  }

  // A message from storage, or null when it is not one. An answer that was still streaming when the page closed is
  // kept as a stopped one.
  function message(m) {
    if (!m || (m.role !== "user" && m.role !== "assistant") || typeof m.content !== "string") return null;
    const out = { role: m.role, content: m.content };
    for (const key of ["reasoning", "status", "error", "finish", "stats"])
      if (typeof m[key] === "string" && m[key]) out[key] = m[key];
    if (m.pending && m.role === "assistant") {
      out.status = out.status || "stopped";
      out.finish = out.finish || "stopped";
      out.stats = out.stats || "stopped";
    }
    return out;
  }

  function conversation(c) {
    if (!c || typeof c.id !== "string" || !Array.isArray(c.messages)) return null;
    return {
      id: c.id,
      title: typeof c.title === "string" ? c.title : "",
      titled: !!c.titled,
      created: Number(c.created) || Date.now(),
      updated: Number(c.updated) || Date.now(),
      messages: c.messages.map(message).filter(Boolean),
    };
  }

  // {conversations, current}: there is always at least one conversation, and current is one of them.
  function load() {
    const stored = parse(kList);
    const conversations = (Array.isArray(stored) ? stored : []).map(conversation).filter(Boolean);
    const legacy = parse(kLegacy);
    if (Array.isArray(legacy)) {
      const c = create();
      c.messages = legacy.map(message).filter(Boolean);
      if (c.messages.length) {
        autoTitle(c);
        conversations.push(c);
        save({ conversations, current: c.id });
      }
      localStorage.removeItem(kLegacy);
    }
    if (!conversations.length) conversations.push(create());
    let current = localStorage.getItem(kCurrent);
    if (!conversations.some((c) => c.id === current)) current = sorted(conversations)[0].id;
    return { conversations, current };
  }

  // Writes everything; false when the browser refuses (storage full or disabled).
  function save(state) {
    try {
      localStorage.setItem(kList, JSON.stringify(state.conversations));
      localStorage.setItem(kCurrent, state.current);
      return true;
    } catch (e) {
      console.warn("whale: the conversations could not be saved:", e);
      return false;
    }
  }

  // Most recently updated first.
  function sorted(conversations) {
    return [...conversations].sort((a, b) => b.updated - a.updated);
  }

  return { create, autoTitle, load, save, sorted, listKey: kList };
})();
