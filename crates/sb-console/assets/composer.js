// The reply / note editor. The suggested reply may hold `{{variable}}` placeholders the
// assist panel could not fill: they are highlighted in place (a backdrop behind the
// transparent textarea paints them) and listed as chips, and a reply is not sent while one is
// left, so a customer never receives a template hole.
//
// Canned responses by shortcut: typing `/` and a word (at the start or after a space) offers
// the canned responses whose shortcut or name matches, in a list above the editor (arrow keys
// move, Enter or Tab inserts, Escape closes it and keeps the text). The chosen one replaces
// the typed shortcut, filled for the ticket by `canned.fill` (variables it cannot fill stay
// `{{…}}` and block sending, as in a suggested reply).

import { h, clear } from "./dom.js";

const PLACEHOLDER = /\{\{\s*[a-zA-Z0-9_.]+\s*\}\}/g;

export function placeholders(text) {
  return [...new Set(text.match(PLACEHOLDER) || [])];
}

const SHORTCUT_TYPED = /(^|\s)(\/[\p{L}\p{N}_-]*)$/u;
const MAX_OFFERED = 8;

/// Builds the composer. `onSend(mode, text)` returns a promise; mode is "reply" or "note".
/// `onTyping()`, when given, is called as the agent types a reply. `canned`, when given:
/// `{ list(): Promise<[{shortcut, name, body}]> (in the order to offer), fill(shortcut):
/// Promise<string> }`.
export function composer({ canWrite, onSend, onTyping, canned }) {
  let mode = "reply";
  const backdrop = h("div.editor-backdrop", { "aria-hidden": "true" });
  const textarea = h("textarea#composer-text", { rows: "5", placeholder: "Write a reply to the customer…", "aria-label": "Reply", disabled: !canWrite });
  const missing = h("div.missing#composer-missing", { "aria-live": "polite" });
  const hint = h("span.hint", {}, canWrite ? "Ctrl + Enter to send" : "Your role can read tickets but not answer them.");
  const send = h("button.button.primary#composer-send", { type: "button", disabled: !canWrite }, "Send reply");
  const replyTab = h("button.tab", { type: "button", role: "tab", "aria-selected": "true", onclick: () => setMode("reply") }, "Reply");
  const noteTab = h("button.tab", { type: "button", role: "tab", "aria-selected": "false", onclick: () => setMode("note") }, "Internal note");
  const menu = h("ul.canned-menu#canned-menu", { role: "listbox", "aria-label": "Canned responses", hidden: true });
  const root = h("div.composer", {}, h("div.composer-tabs", { role: "tablist" }, replyTab, noteTab), h("div.editor", {}, backdrop, textarea, menu), h("div.composer-foot", {}, missing, hint, send));
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

  // ---- canned responses ----
  // offered: [{template, node}], active: index of the highlighted one, typed: {start, end}
  // of the shortcut being typed.
  let offered = [];
  let active = 0;
  let typed = null;
  let menuSeq = 0;

  function closeMenu() {
    menu.hidden = true;
    offered = [];
    typed = null;
    textarea.removeAttribute("aria-activedescendant");
    textarea.setAttribute("aria-expanded", "false");
  }

  function highlight(index) {
    active = (index + offered.length) % offered.length;
    offered.forEach((entry, entryIdx) => entry.node.setAttribute("aria-selected", String(entryIdx === active)));
    textarea.setAttribute("aria-activedescendant", offered[active].node.id);
    offered[active].node.scrollIntoView({ block: "nearest" });
  }

  async function offer() {
    const caret = textarea.selectionStart;
    const match = textarea.selectionEnd === caret ? textarea.value.slice(0, caret).match(SHORTCUT_TYPED) : null;
    if (!canned || !match) return closeMenu();
    const seq = ++menuSeq;
    const word = match[2].toLowerCase();
    let templates;
    try {
      templates = await canned.list();
    } catch {
      return closeMenu();
    }
    if (seq !== menuSeq) return;
    const matching = templates.filter((template) => template.shortcut.toLowerCase().startsWith(word) || (word.length > 1 && template.name.toLowerCase().includes(word.slice(1)))).slice(0, MAX_OFFERED);
    if (!matching.length) return closeMenu();
    typed = { start: caret - match[2].length, end: caret };
    clear(menu);
    offered = matching.map((template, index) => {
      const node = h(
        "li.canned-option",
        { id: `canned-option-${index}`, role: "option", dataset: { shortcut: template.shortcut }, onmousedown: (event) => { event.preventDefault(); choose(index); } },
        h("span.canned-shortcut", {}, template.shortcut),
        h("span.canned-name", {}, template.name),
        h("span.canned-preview", {}, template.body),
      );
      menu.append(node);
      return { template, node };
    });
    menu.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  async function choose(index) {
    const entry = offered[index];
    const range = typed;
    closeMenu();
    if (!entry || !range) return;
    let text;
    try {
      text = await canned.fill(entry.template.shortcut);
    } catch {
      // Unfilled, its variables stay highlighted and keep the reply from being sent.
      text = entry.template.body;
    }
    // The shortcut the agent typed is replaced only if it is still there.
    const current = textarea.value;
    const start = current.slice(range.start, range.end).startsWith("/") ? range.start : textarea.selectionStart;
    const end = current.slice(range.start, range.end).startsWith("/") ? range.end : textarea.selectionStart;
    textarea.value = current.slice(0, start) + text + current.slice(end);
    const caret = start + text.length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    paint();
    if (mode === "reply" && onTyping) onTyping();
  }

  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", "canned-menu");
  textarea.setAttribute("aria-expanded", "false");
  textarea.addEventListener("input", offer);
  textarea.addEventListener("blur", () => setTimeout(() => document.activeElement !== textarea && closeMenu(), 150));
  textarea.addEventListener("keydown", (event) => {
    if (menu.hidden || !offered.length) return;
    const keys = { ArrowDown: () => highlight(active + 1), ArrowUp: () => highlight(active - 1), Enter: () => choose(active), Tab: () => choose(active), Escape: closeMenu };
    const action = keys[event.key];
    if (!action || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    // Escape here closes the list only; the workspace's Escape (leave the field) must not see it.
    event.stopPropagation();
    action();
  });

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
