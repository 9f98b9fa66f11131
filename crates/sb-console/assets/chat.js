// The customer's chat page (/chat, usually inside the loader's iframe).
//
// Start: name, email and the first question → POST /api/v1/chat/conversations, which answers
// the conversation id and its secret; both are kept in localStorage, so a reload (or coming
// back tomorrow) shows the same conversation. Every call then carries the secret as a bearer
// token. Sending gives each message an id before the first attempt, so retries after a network
// failure never store it twice. Replies arrive live over /ws (?chat_token=…), which sends this
// conversation's events only; on each the page reads the messages after the last it shows.
// Once the conversation's latest ticket is resolved, the page asks for a rating (1–5 stars and
// an optional comment) once per ticket: the tickets asked about are remembered in localStorage.

import { h, clear } from "./dom.js";

const STORAGE_KEY = "switchboard.chat.v1";
const TYPING_ANNOUNCE_MS = 3000;
const TYPING_SHOWN_MS = 6000;
const PRESENCE_POLL_MS = 30000;
const RATING_POLL_MS = 10000;
const ASKED_KEY = "switchboard.chat.rated.v1";

const $ = (id) => document.getElementById(id);
const embedded = document.body.dataset.embedded === "true";
if (document.body.dataset.accent) document.documentElement.style.setProperty("--accent", document.body.dataset.accent);

let session = loadSession(); // { conversationId, token, name }
let ticketIds = [];
let listenedTicketIds = []; // the tickets the open socket was given (the server filters by them)
let lastMessageId = 0;
let shown = new Map(); // message id → node
let socket = null;
let lastEventId = null;
let epoch = null;
let retryDelay = 500;
let lastTypingSent = 0;
let typingTimer = null;
let visible = !embedded;

function loadSession() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
    return stored && stored.conversationId && stored.token ? stored : null;
  } catch {
    return null;
  }
}

function saveSession(value) {
  session = value;
  try {
    if (value) window.localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage refused (private mode): the conversation lasts as long as the page.
  }
}

function clientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

class ChatError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const response = await fetch(`/api/v1/chat${path}`, { method, headers, credentials: "omit", body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload && payload.error ? payload.error : { code: `http_${response.status}`, message: response.statusText };
    throw new ChatError(response.status, error.code, error.message);
  }
  return payload;
}

// ---- presence ----

async function refreshPresence() {
  let online = false;
  try {
    online = (await call("GET", "/status")).agents_online;
  } catch {
    return;
  }
  const presence = $("chat-presence");
  presence.dataset.online = String(online);
  $("chat-presence-text").textContent = online ? "We're online · replies in a few minutes" : "Away · we'll reply here soon";
  $("chat-offline").hidden = online;
}

// ---- messages ----

function timeOf(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function messageNode(message) {
  const mine = message.from === "customer";
  const who = mine ? "You" : message.from === "automatic" ? "Automatic answer" : message.agent_name || "Support team";
  const article = message.article
    ? h(
        "a.chat-article",
        { href: message.article.url, target: "_blank", rel: "noopener" },
        h("span.chat-article-icon", { "aria-hidden": "true" }, "?"),
        h("span.chat-article-text", {}, h("span.chat-article-kicker", {}, "Help article"), h("span.chat-article-title", {}, message.article.title)),
        h("span.chat-article-arrow", { "aria-hidden": "true" }, "→"),
      )
    : null;
  return h(
    `li.chat-message.${mine ? "mine" : "theirs"}.from-${message.from}`,
    { dataset: { messageId: message.id } },
    h("div.chat-bubble", {}, message.text, article),
    h("div.chat-meta", {}, mine ? null : h("span.chat-who", {}, who), h("time", { datetime: message.at }, timeOf(message.at))),
  );
}

function scrollToEnd() {
  const list = $("chat-messages");
  list.scrollTop = list.scrollHeight;
}

function showMessages(messages) {
  const list = $("chat-messages");
  let replied = false;
  for (const message of messages) {
    if (shown.has(message.id)) continue;
    // A message this page sent shows as pending until the server's copy replaces it.
    const pending = list.querySelector(`[data-pending-ticket-message="${message.id}"]`);
    const node = messageNode(message);
    if (pending) pending.replaceWith(node);
    else list.insertBefore(node, list.querySelector(".chat-message.pending"));
    shown.set(message.id, node);
    lastMessageId = Math.max(lastMessageId, message.id);
    if (message.from !== "customer") {
      replied = true;
      hideTyping();
    }
    listenTo(message.ticket_id);
  }
  if (replied && embedded && !visible) window.parent.postMessage({ type: "switchboard:reply" }, "*");
  scrollToEnd();
}

async function loadNewMessages() {
  if (!session) return;
  try {
    const history = await call("GET", `/conversations/${session.conversationId}/messages?after=${lastMessageId}`);
    showMessages(history.messages);
    resetRatingIfReopened(history.messages);
    checkRating();
  } catch (error) {
    if (error.status === 401 || error.status === 404) forget();
  }
}

// ---- sending ----

function pendingNode(text) {
  return h("li.chat-message.mine.pending", {}, h("div.chat-bubble", {}, text), h("div.chat-meta", {}, h("span.chat-status", {}, "Sending…")));
}

/// Sends `text` with one client id for every attempt; marks the bubble failed (with a retry
/// button that reuses the id) when the server cannot be reached.
async function send(text, node, id) {
  node.classList.remove("failed");
  const status = node.querySelector(".chat-status");
  status.textContent = "Sending…";
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const sent = await call("POST", `/conversations/${session.conversationId}/messages`, { text, client_message_id: id });
      // The live event may have shown the stored copy already.
      if (shown.has(sent.message_id)) node.remove();
      else node.dataset.pendingTicketMessage = String(sent.message_id);
      listenTo(sent.ticket_id);
      await loadNewMessages();
      return;
    } catch (error) {
      if (error instanceof ChatError && error.status !== 429 && error.status < 500) {
        status.textContent = error.message;
        node.classList.add("failed");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 800 * (attempt + 1)));
    }
  }
  node.classList.add("failed");
  clear(status).append("Not sent. ", h("button.chat-retry", { type: "button", onclick: () => send(text, node, id) }, "Retry"));
}

function submitComposer(event) {
  event.preventDefault();
  const textarea = $("chat-text");
  const text = textarea.value.trim();
  if (!text || !session) return;
  textarea.value = "";
  autoGrow();
  const node = pendingNode(text);
  $("chat-messages").append(node);
  scrollToEnd();
  send(text, node, clientId());
}

function autoGrow() {
  const textarea = $("chat-text");
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 140)}px`;
  $("chat-send").disabled = !textarea.value.trim();
}

function announceTyping() {
  if (!session || !ticketIds.length) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_ANNOUNCE_MS) return;
  lastTypingSent = now;
  call("POST", `/conversations/${session.conversationId}/typing`).catch(() => {});
}

// ---- the agent typing ----

function showTyping() {
  $("chat-typing-text").textContent = "Typing…";
  $("chat-typing").hidden = false;
  scrollToEnd();
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
}

function hideTyping() {
  clearTimeout(typingTimer);
  $("chat-typing").hidden = true;
}

// ---- live ----

function connect() {
  if (!session) return;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const resume = lastEventId !== null && epoch ? `&after=${lastEventId}&epoch=${encodeURIComponent(epoch)}` : "";
  listenedTicketIds = [...ticketIds];
  const current = new WebSocket(`${scheme}://${window.location.host}/ws?chat_token=${encodeURIComponent(session.token)}${resume}`);
  socket = current;
  current.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event.type === "hello") {
      retryDelay = 500;
      epoch = event.epoch;
      if (lastEventId === null) lastEventId = event.last_id;
      // Whatever happened while connecting: read it.
      loadNewMessages();
      return;
    }
    if (event.type === "reset") {
      loadNewMessages();
      return;
    }
    if (typeof event.id === "number" && event.type !== "typing") lastEventId = Math.max(lastEventId || 0, event.id);
    if (event.type === "message_added") loadNewMessages();
    if (event.type === "typing") showTyping();
  });
  current.addEventListener("close", () => {
    if (socket !== current) return;
    socket = null;
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  });
}

/// A ticket of this conversation the socket does not know (the first message made it, or the
/// last one was closed): reconnect, since the server reads the conversation's tickets when the
/// socket opens.
function listenTo(ticketId) {
  if (!ticketIds.includes(ticketId)) ticketIds.push(ticketId);
  if (!listenedTicketIds.includes(ticketId)) reconnect();
}

function reconnect() {
  const previous = socket;
  socket = null;
  if (previous) previous.close();
  connect();
}

// ---- rating ----

let ratingTicketId = null;

function askedTickets() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(ASKED_KEY) || "[]");
    return Array.isArray(stored) ? stored : [];
  } catch {
    return [];
  }
}

function rememberAsked(ticketId) {
  try {
    const asked = askedTickets().filter((id) => id !== ticketId).slice(-50);
    asked.push(ticketId);
    window.localStorage.setItem(ASKED_KEY, JSON.stringify(asked));
  } catch {
    // Storage refused: the prompt may show again after a reload.
  }
}

/// Reads whether the latest ticket is resolved and unrated, and offers the prompt the first
/// time it is.
async function checkRating() {
  if (!session || ratingTicketId !== null) return;
  let conversation;
  try {
    conversation = await call("GET", `/conversations/${session.conversationId}`);
  } catch {
    return;
  }
  const ticketId = conversation.rating_ticket_id;
  if (!ticketId || conversation.rated || askedTickets().includes(ticketId)) return;
  ratingTicketId = ticketId;
  rememberAsked(ticketId);
  $("chat-rating-form").reset();
  lightStars(0);
  $("chat-rating-form").hidden = false;
  $("chat-rating-thanks").hidden = true;
  $("chat-rating-error").hidden = true;
  $("chat-rating").hidden = false;
  scrollToEnd();
}

function lightStars(value) {
  for (const star of document.querySelectorAll(".chat-star")) star.classList.toggle("lit", Number(star.dataset.stars) <= value);
}

function chosenRating() {
  const checked = document.querySelector(".chat-star-input:checked");
  return checked ? Number(checked.value) : 0;
}

async function submitRating(event) {
  event.preventDefault();
  const rating = chosenRating();
  const error = $("chat-rating-error");
  if (!rating) {
    error.textContent = "Please choose from 1 to 5 stars.";
    error.hidden = false;
    return;
  }
  const comment = $("chat-rating-comment").value.trim();
  const button = $("chat-rating-submit");
  button.disabled = true;
  try {
    await call("POST", `/conversations/${session.conversationId}/rating`, comment ? { rating, comment } : { rating });
    $("chat-rating-form").hidden = true;
    $("chat-rating-thanks").hidden = false;
  } catch (failure) {
    error.textContent = failure instanceof ChatError ? failure.message : "We couldn't send your rating. Please try again.";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function dismissRating() {
  $("chat-rating").hidden = true;
}

/// A new message after the prompt means a new exchange: its ticket may be rated later.
function resetRatingIfReopened(messages) {
  if (ratingTicketId === null) return;
  if (messages.some((message) => message.from === "customer")) {
    ratingTicketId = null;
    $("chat-rating").hidden = true;
  }
}

// ---- start ----

function showStart() {
  $("chat-conversation").hidden = true;
  $("chat-start").hidden = false;
}

async function showConversation() {
  $("chat-start").hidden = true;
  $("chat-conversation").hidden = false;
  await loadNewMessages();
  connect();
}

function forget() {
  saveSession(null);
  if (socket) socket.close();
  socket = null;
  shown = new Map();
  lastMessageId = 0;
  clear($("chat-messages"));
  showStart();
}

async function start(event) {
  event.preventDefault();
  const name = $("chat-name").value.trim();
  const email = $("chat-email").value.trim();
  const text = $("chat-first-message").value.trim();
  const error = $("chat-start-error");
  error.hidden = true;
  const problem = !name ? "Please tell us your name." : !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? "Please enter a valid email address, so we can reach you." : !text ? "Please write your question." : null;
  if (problem) {
    error.textContent = problem;
    error.hidden = false;
    return;
  }
  const button = $("chat-start-submit");
  button.disabled = true;
  try {
    const started = await call("POST", "/conversations", { name, email });
    saveSession({ conversationId: started.conversation_id, token: started.token, name });
    await showConversation();
    const node = pendingNode(text);
    $("chat-messages").append(node);
    await send(text, node, clientId());
  } catch (failure) {
    error.textContent = failure instanceof ChatError ? failure.message : "We couldn't reach the chat. Please check your connection and try again.";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

$("chat-start-form").addEventListener("submit", start);
$("chat-composer").addEventListener("submit", submitComposer);
$("chat-text").addEventListener("input", () => {
  autoGrow();
  announceTyping();
});
$("chat-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submitComposer(event);
});
$("chat-rating-form").addEventListener("submit", submitRating);
$("chat-rating-dismiss").addEventListener("click", dismissRating);
$("chat-stars").addEventListener("change", () => lightStars(chosenRating()));
$("chat-close")?.addEventListener("click", () => window.parent.postMessage({ type: "switchboard:close" }, "*"));
window.addEventListener("message", (event) => {
  if (event.source === window.parent && event.data && event.data.type === "switchboard:visibility") visible = Boolean(event.data.open);
});

refreshPresence();
setInterval(refreshPresence, PRESENCE_POLL_MS);
// The chat's socket carries messages, not status changes: a resolution is read here.
setInterval(checkRating, RATING_POLL_MS);
if (session) showConversation();
else showStart();
