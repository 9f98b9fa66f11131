// The agent workspace: the queue on the left, the open ticket on the right, live updates from
// /ws, keyboard shortcuts.

import "./shell.js";
import * as queue from "./queue.js";
import * as ticket from "./ticket.js";
import { connect, onEvent } from "./live.js";
import { bind, install } from "./shortcuts.js";

const workspace = document.querySelector(".workspace");

queue.init((ticketId) => ticket.open(ticketId));

onEvent((event) => {
  // Typing changes no data: no reload, only the hint.
  if (event.type === "typing") {
    ticket.typingEvent(event);
    return;
  }
  if (event.type === "message_added") ticket.messageEvent(event);
  if (event.type === "reset") {
    queue.refreshSoon();
    ticket.refresh();
    return;
  }
  queue.refreshSoon();
  if (event.ticket_id === ticket.openId()) ticket.refresh();
});

bind("j", () => queue.move(1));
bind("k", () => queue.move(-1));
bind("Enter", () => queue.selected() && queue.open(queue.selected()));
bind("r", ticket.shortcuts.reply);
bind("n", ticket.shortcuts.note);
bind("a", ticket.shortcuts.assign);
bind("e", ticket.shortcuts.resolve);
bind("o", ticket.shortcuts.reopen);
bind("x", ticket.shortcuts.escalate);
bind("t", ticket.shortcuts.transfer);
bind("m", ticket.shortcuts.merge);
bind("/", queue.focusFilters);
bind("?", () => document.getElementById("shortcuts-help")?.showModal());
install();

await queue.load();
const initial = Number(workspace.dataset.ticketId);
if (initial) queue.open(initial);
window.addEventListener("popstate", () => {
  const match = window.location.pathname.match(/^\/console\/tickets\/(\d+)$/);
  if (match) queue.open(Number(match[1]));
});
connect();
