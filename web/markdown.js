// Markdown for the answers: marked (GitHub flavour) → DOMPurify → the element, then KaTeX for the math and
// highlight.js for the code blocks. All four are Debian's, embedded in the binary (CMakeLists.txt).
//
// Math ($...$, $$...$$, \(...\), \[...\]) is cut out of the text before markdown sees it (markdown would eat its
// backslashes, underscores and asterisks) and left as placeholder characters; after sanitising, the placeholders in
// text nodes become KaTeX output (built by KaTeX from the TeX source, with trust off: no raw HTML from the answer).
// Code spans and fenced code blocks are left alone, so `$x` in code stays code.
"use strict";

const Markdown = (() => {
  const kOpen = "\uE000", kClose = "\uE001";  // private-use characters: markdown and DOMPurify leave them alone
  // Auto-detection tries only these (all 180 languages are slow and guess wrong); a fence may name any of them.
  const kDetect = ["bash", "c", "cpp", "css", "go", "java", "javascript", "json", "markdown", "python", "rust", "sql",
                   "typescript", "xml", "yaml"];

  marked.setOptions({ gfm: true, breaks: false, headerIds: false, mangle: false });
  if (window.hljs) hljs.configure({ languages: kDetect, hideUpgradeWarningAcceptNoSupportOrSecurityUpdates: true });
  // An answer is text from a model: it may not load anything (an image URL could carry the conversation away), style
  // the page or name its elements (an id="api-key" would shadow the real one). Links open in a new tab.
  const kPurify = { FORBID_TAGS: ["img", "picture", "source", "video", "audio", "iframe", "style", "form", "input",
                                  "button", "textarea", "select"],
                    FORBID_ATTR: ["style", "srcset", "background", "poster", "id", "name"] };
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });

  // Pandoc's rule for $...$: the opening $ has a non-space after it, the closing one a non-space before it and no
  // digit after it ("$5 and $10" is not math).
  function inlineDollarEnd(text, at) {
    if (at + 1 >= text.length || /\s/.test(text[at + 1])) return -1;
    for (let j = at + 1; j < text.length; ++j) {
      const c = text[j];
      if (c === "\\") { ++j; continue; }
      if (c === "\n" && text[j + 1] === "\n") return -1;  // not across paragraphs
      if (c === "$") return /\s/.test(text[j - 1]) || /[0-9]/.test(text[j + 1] || "") ? -1 : j;
    }
    return -1;
  }

  // Returns {text, math}: the text with each formula replaced by kOpen + index + kClose, and the formulas
  // [{tex, display}].
  function extractMath(text) {
    text = text.replace(/[\uE000\uE001]/g, "\uFFFD");  // the placeholders' characters are ours alone
    const math = [];
    let out = "";
    let i = 0;
    const put = (tex, display) => {
      math.push({ tex, display });
      out += kOpen + (math.length - 1) + kClose;
    };
    const fence = /[ ]{0,3}(`{3,}|~{3,})/y;
    while (i < text.length) {
      if (i === 0 || text[i - 1] === "\n") {  // a fenced code block: verbatim up to its closing fence (or the end)
        fence.lastIndex = i;
        const m = fence.exec(text);
        if (m) {
          const close = new RegExp(`\\n[ ]{0,3}${m[1][0] === "`" ? "`" : "~"}{${m[1].length},}[ \\t]*(?=\\n|$)`, "g");
          close.lastIndex = i + m[0].length;
          const c = close.exec(text);
          const end = c ? c.index + c[0].length : text.length;
          out += text.slice(i, end);
          i = end;
          continue;
        }
      }
      const ch = text[i];
      if (ch === "`") {  // a code span: verbatim up to a run of as many backticks
        let n = 1;
        while (text[i + n] === "`") ++n;
        const ticks = "`".repeat(n);
        let end = text.indexOf(ticks, i + n);
        while (end >= 0 && text[end + n] === "`") end = text.indexOf(ticks, end + n + 1);
        const stop = end >= 0 ? end + n : i + n;  // unmatched: the backticks are text
        out += text.slice(i, stop);
        i = stop;
        continue;
      }
      if (ch === "\\" && (text[i + 1] === "[" || text[i + 1] === "(")) {
        const closer = text[i + 1] === "[" ? "\\]" : "\\)";
        const end = text.indexOf(closer, i + 2);
        if (end >= 0) {
          put(text.slice(i + 2, end), text[i + 1] === "[");
          i = end + 2;
          continue;
        }
      }
      if (ch === "\\") {  // an escape (\$ is a dollar sign): both characters as they are
        out += text.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (ch === "$" && text[i + 1] === "$") {
        const end = text.indexOf("$$", i + 2);
        if (end >= 0 && text.slice(i + 2, end).trim()) {
          put(text.slice(i + 2, end), true);
          i = end + 2;
          continue;
        }
        out += "$$";
        i += 2;
        continue;
      }
      if (ch === "$") {
        const end = inlineDollarEnd(text, i);
        if (end >= 0) {
          put(text.slice(i + 1, end), false);
          i = end + 1;
          continue;
        }
      }
      out += ch;
      ++i;
    }
    return { text: out, math };
  }

  // Replaces the placeholders in the text nodes under root with rendered formulas.
  function renderMath(root, math) {
    if (!math.length) return;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.nodeValue.includes(kOpen)) nodes.push(n);
    const placeholder = new RegExp(`${kOpen}(\\d+)${kClose}`, "g");
    for (const node of nodes) {
      const frag = document.createDocumentFragment();
      let last = 0;
      for (const m of node.nodeValue.matchAll(placeholder)) {
        frag.append(node.nodeValue.slice(last, m.index));
        const formula = math[Number(m[1])];
        const span = document.createElement("span");
        span.className = formula.display ? "math display" : "math";
        try {
          katex.render(formula.tex, span, { displayMode: formula.display, throwOnError: false, trust: false });
        } catch (e) {  // throwOnError: false covers TeX errors; anything else: show the source
          span.textContent = formula.tex;
        }
        frag.append(span);
        last = m.index + m[0].length;
      }
      frag.append(node.nodeValue.slice(last));
      node.replaceWith(frag);
    }
  }

  // Highlights the code blocks under root. While an answer streams (final false), blocks without a language are
  // left plain: guessing one on every update is the slow part.
  function highlight(root, final) {
    if (!window.hljs) return;
    for (const code of root.querySelectorAll("pre code")) {
      const named = /\blanguage-(\S+)/.exec(code.className);
      if (named && !hljs.getLanguage(named[1])) continue;
      if (!named && !final) continue;
      (hljs.highlightElement || hljs.highlightBlock).call(hljs, code);
    }
  }

  // Renders markdown text into element (replacing what was there).
  function render(element, text, { final = true } = {}) {
    const { text: marked_text, math } = extractMath(text);
    element.innerHTML = DOMPurify.sanitize(marked.parse(marked_text), kPurify);
    renderMath(element, math);
    highlight(element, final);
  }

  return { render, extractMath };
})();
