// The reply / note editor. The suggested reply may hold `{{variable}}` placeholders the
// assist panel could not fill: they are highlighted in place (a backdrop behind the
// transparent textarea paints them) and listed as chips, and a reply is not sent while one is
// left, so a customer never receives a template hole.

import { h, clear } from "./dom.js";

const PLACEHOLDER = /\{\{\s*[a-zA-Z0-9_.]+\s*\}\}/g;

export function placeholders(text) {
  return [...new Set(text.match(PLACEHOLDER) || [])];
}

/// Builds the composer. `onSend(mode, text)` returns a promise; mode is "reply" or "note".
/// `onTyping()`, when given, is called as the agent types a reply.
export function composer({ canWrite, onSend, onTyping }) {
  let mode = "reply";
  const backdrop = h("div.editor-backdrop", { "aria-hidden": "true" });
  const textarea = h("textarea#composer-text", { rows: "5", placeholder: "Write a reply to the customer…", "aria-label": "Reply", disabled: !canWrite });
  const missing = h("div.missing#composer-missing", { "aria-live": "polite" });
  const hint = h("span.hint", {}, canWrite ? "Ctrl + Enter to send" : "Your role can read tickets but not answer them.");
  const send = h("button.button.primary#composer-send", { type: "button", disabled: !canWrite }, "Send reply");
  const replyTab = h("button.tab", { type: "button", role: "tab", "aria-selected": "true", onclick: () => setMode("reply") }, "Reply");
  const noteTab = h("button.tab", { type: "button", role: "tab", "aria-selected": "false", onclick: () => setMode("note") }, "Internal note");
  const root = h("div.composer", {}, h("div.composer-tabs", { role: "tablist" }, replyTab, noteTab), h("div.editor", {}, backdrop, textarea), h("div.composer-foot", {}, missing, hint, send));
  const drafts = { reply: "", note: "" };

  function paint() {
    const text = textarea.value;
    clear(backdrop);
    let last = 0;
    for (const match of text.matchAll(PLACEHOLDER)) {
      backdrop.append(text.slice(last, match.index), h("mark", {}, match[0]));
      last = match.index + match[0].length;
    }
    // A trailing newline needs a character after it to take up its line in the backdrop.
    backdrop.append(text.slice(last) + "\u200b");
    backdrop.scrollTop = textarea.scrollTop;
    clear(missing);
    const holes = mode === "reply" ? placeholders(text) : [];
    if (holes.length) {
      missing.append("Fill in:");
      for (const hole of holes) missing.append(h("button", { type: "button", title: "Select it in the text", onclick: () => selectText(hole) }, hole));
    }
    missing.hidden = holes.length === 0;
    hint.hidden = holes.length > 0;
    send.disabled = !canWrite || !text.trim() || holes.length > 0;
  }

  function selectText(fragment) {
    const start = textarea.value.indexOf(fragment);
    if (start < 0) return;
    textarea.focus();
    textarea.setSelectionRange(start, start + fragment.length);
  }

  function setMode(next) {
    drafts[mode] = textarea.value;
    mode = next;
    root.classList.toggle("note-mode", mode === "note");
    replyTab.setAttribute("aria-selected", String(mode === "reply"));
    noteTab.setAttribute("aria-selected", String(mode === "note"));
    textarea.value = drafts[mode];
    textarea.placeholder = mode === "reply" ? "Write a reply to the customer…" : "Write a note for your team (the customer never sees it)…";
    textarea.setAttribute("aria-label", mode === "reply" ? "Reply" : "Internal note");
    send.textContent = mode === "reply" ? "Send reply" : "Add note";
    paint();
  }

  async function submit() {
    if (send.disabled) return;
    send.disabled = true;
    try {
      await onSend(mode, textarea.value.trim());
      textarea.value = "";
      drafts[mode] = "";
    } finally {
      paint();
    }
  }

  textarea.addEventListener("input", paint);
  textarea.addEventListener("input", () => mode === "reply" && onTyping && onTyping());
  textarea.addEventListener("scroll", () => (backdrop.scrollTop = textarea.scrollTop));
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  });
  send.addEventListener("click", submit);
  paint();

  return {
    root,
    /// Puts `text` in the reply editor unless the agent already typed something.
    suggest(text, { force } = {}) {
      if (!canWrite) return;
      if (mode === "reply" && (force || !textarea.value.trim())) {
        textarea.value = text;
        paint();
      } else if (mode === "note" && (force || !drafts.reply.trim())) {
        drafts.reply = text;
      }
    },
    focus(nextMode) {
      if (nextMode && nextMode !== mode) setMode(nextMode);
      textarea.focus();
    },
  };
}
