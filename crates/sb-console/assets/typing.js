// Typing hints between the agent and a chat customer. The customer's widget announces typing
// over the API; the server passes it on over /ws as {type: "typing", party: "customer"}, and
// the open ticket shows "Customer is typing…" until a few seconds pass without another
// announcement. The other way, the composer calls `agentTyping` on input; it announces at most
// every few seconds, only for chat tickets, and only while a reply (not a note) is written.

import { api } from "./api.js";
import { h } from "./dom.js";

const SHOWN_FOR_MS = 6000;
const ANNOUNCE_EVERY_MS = 3000;

let typingTicket = null;
let typingUntil = 0;
let hideTimer = null;
let lastAnnounced = 0;

/// The indicator of the open ticket: `ticketId` is the ticket the view shows.
export function indicator(ticketId) {
  const visible = typingTicket === ticketId && Date.now() < typingUntil;
  return h("div.typing-indicator#customer-typing", { hidden: !visible, "aria-live": "polite" }, h("span.typing-dots", { "aria-hidden": "true" }, h("span"), h("span"), h("span")), "Customer is typing…");
}

/// A customer typing event for `ticketId`.
export function customerTyping(ticketId) {
  typingTicket = ticketId;
  typingUntil = Date.now() + SHOWN_FOR_MS;
  const node = document.getElementById("customer-typing");
  if (node) node.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(hide, SHOWN_FOR_MS);
}

/// The customer's message arrived: the hint has done its job.
export function hide() {
  typingUntil = 0;
  const node = document.getElementById("customer-typing");
  if (node) node.hidden = true;
}

/// The agent typed in the reply editor of `ticket`.
export function agentTyping(ticket) {
  if (ticket.channel !== "chat") return;
  const now = Date.now();
  if (now - lastAnnounced < ANNOUNCE_EVERY_MS) return;
  lastAnnounced = now;
  api.post(`/tickets/${ticket.id}/typing`).catch(() => {});
}
