// The Switchboard chat loader. A shop adds one tag to its pages:
//
//   <script src="https://support.example/widget.js" data-title="Acme Outdoor" data-accent="#0f766e" async></script>
//
// It draws a launcher button in a shadow root (the page's CSS cannot restyle it, and its CSS
// cannot leak into the page) and opens the chat, served by the Switchboard server, in an
// iframe: the conversation lives on the server's origin, out of reach of the page's scripts.
// The chat page tells the loader when to close and when a reply arrives while it is closed
// (postMessage, checked against the server's origin).
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__switchboardChat) return;
  window.__switchboardChat = true;
  const server = new URL(script.src, window.location.href).origin;
  const params = new URLSearchParams({ embed: "1" });
  if (script.dataset.title) params.set("title", script.dataset.title);
  if (script.dataset.accent && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(script.dataset.accent)) params.set("accent", script.dataset.accent);
  const accent = params.get("accent") || "#3451d1";

  const css = `
    :host { all: initial; }
    .launcher { position: fixed; right: 24px; bottom: 24px; z-index: 2147483000; width: 60px; height: 60px; border: 0; border-radius: 50%;
      background: var(--accent); color: #fff; cursor: pointer; display: grid; place-items: center; padding: 0;
      box-shadow: 0 6px 20px rgba(16, 24, 40, .22), 0 2px 6px rgba(16, 24, 40, .12); transition: transform .15s ease, box-shadow .15s ease; }
    .launcher:hover { transform: translateY(-1px) scale(1.03); box-shadow: 0 10px 28px rgba(16, 24, 40, .26), 0 2px 6px rgba(16, 24, 40, .12); }
    .launcher:focus-visible { outline: 3px solid rgba(52, 81, 209, .45); outline-offset: 3px; }
    .launcher svg { width: 28px; height: 28px; }
    .launcher .close-icon { display: none; }
    .launcher[aria-expanded="true"] .chat-icon { display: none; }
    .launcher[aria-expanded="true"] .close-icon { display: block; }
    .badge { position: absolute; top: 2px; right: 2px; width: 14px; height: 14px; border-radius: 50%; background: #e11d48; border: 2px solid #fff; }
    .badge[hidden] { display: none; }
    .panel { position: fixed; right: 24px; bottom: 100px; z-index: 2147483000; width: 384px; height: 640px; max-height: calc(100vh - 124px);
      border-radius: 16px; overflow: hidden; background: #fff; box-shadow: 0 16px 48px rgba(16, 24, 40, .22), 0 2px 8px rgba(16, 24, 40, .08);
      opacity: 0; transform: translateY(12px); pointer-events: none; transition: opacity .18s ease, transform .18s ease; }
    .panel.open { opacity: 1; transform: none; pointer-events: auto; }
    .panel iframe { width: 100%; height: 100%; border: 0; display: block; }
    @media (max-width: 480px) {
      .panel { right: 0; bottom: 0; width: 100vw; height: 100%; max-height: none; border-radius: 0; }
      .panel.open + .launcher { display: none; }
    }`;

  const host = document.createElement("div");
  host.id = "switchboard-chat";
  const root = host.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = css;
    root.append(style);
  }
  host.style.setProperty("--accent", accent);

  const panel = document.createElement("div");
  panel.className = "panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Chat");
  const frame = document.createElement("iframe");
  frame.title = script.dataset.title ? `Chat with ${script.dataset.title}` : "Chat with us";
  frame.src = `${server}/chat?${params}`;
  frame.allow = "clipboard-write";
  panel.append(frame);

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-label", "Chat with us");
  launcher.setAttribute("aria-expanded", "false");
  const svg = (className, path) => `<svg class="${className}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${path}</svg>`;
  launcher.innerHTML =
    svg("chat-icon", '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/><path d="M8.5 11h.01M12 11h.01M15.5 11h.01"/>') +
    svg("close-icon", '<path d="M6 6l12 12M18 6L6 18"/>') +
    '<span class="badge" hidden></span>';
  const badge = launcher.querySelector(".badge");

  function setOpen(open) {
    panel.classList.toggle("open", open);
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close the chat" : "Chat with us");
    if (open) badge.hidden = true;
    frame.contentWindow && frame.contentWindow.postMessage({ type: "switchboard:visibility", open }, server);
  }
  launcher.addEventListener("click", () => setOpen(!panel.classList.contains("open")));
  window.addEventListener("message", (event) => {
    if (event.origin !== server || event.source !== frame.contentWindow || !event.data) return;
    if (event.data.type === "switchboard:close") setOpen(false);
    if (event.data.type === "switchboard:reply" && !panel.classList.contains("open")) badge.hidden = false;
  });

  root.append(panel, launcher);
  const mount = () => document.body.append(host);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
