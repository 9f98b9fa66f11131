// The queue: filters (kept in this browser), the list of tickets most urgent first, keyboard
// selection, "load more", and live refresh: any ticket event reloads the visible page (the
// API applies the filters; the first event of a burst at once, the rest together), and tickets
// that were not shown before flash once.

import { api, query } from "./api.js";
import { h, clear, label, relative, priorityBadge, slaBadge, me } from "./dom.js";

const PAGE_SIZE = 50;
const FILTERS_KEY = "switchboard.queue.filters";

const form = document.getElementById("filters");
const list = document.getElementById("queue-list");
const empty = document.getElementById("queue-empty");
const count = document.getElementById("queue-count");
const more = document.getElementById("queue-more");

let shown = PAGE_SIZE;
let tickets = [];
let selectedId = null;
let onOpen = () => {};
let refreshTimer = null;
let lastLoadAt = 0;
const REFRESH_QUIET_MS = 150;
let knownIds = new Set();

function filterValues() {
  const values = {};
  for (const select of form.querySelectorAll("select")) values[select.name] = select.value;
  return values;
}

function apiParams(values) {
  const params = { status: values.status, queue: values.queue, category: values.category, intent: values.intent, min_priority: values.min_priority, channel: values.channel, limit: shown };
  if (values.assignee === "me") params.assignee = me();
  if (values.assignee === "none") params.unassigned = "true";
  return params;
}

function restoreFilters() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(FILTERS_KEY) || "{}");
  } catch {
    saved = {};
  }
  for (const select of form.querySelectorAll("select")) {
    if (saved[select.name] !== undefined && [...select.options].some((option) => option.value === saved[select.name])) select.value = saved[select.name];
  }
}

function row(ticket, fresh) {
  const subject = ticket.subject || `${label(ticket.intent)} via ${ticket.channel}`;
  return h(
    `li.queue-item${fresh ? ".fresh" : ""}`,
    {
      tabindex: "0",
      role: "option",
      "aria-selected": ticket.id === selectedId ? "true" : "false",
      dataset: { ticketId: ticket.id },
      onclick: () => open(ticket.id),
      onkeydown: (event) => {
        if (event.key === "Enter") open(ticket.id);
      },
    },
    priorityBadge(ticket.priority),
    h("span.qi-subject", { title: subject }, subject),
    h("span.qi-time", { title: ticket.last_message_at }, relative(ticket.last_message_at)),
    h(
      "span.qi-meta",
      {},
      h(`span.badge.status-${ticket.status}`, {}, label(ticket.status)),
      ticket.queue === "safety" ? h("span.badge.queue-safety", {}, ticket.severity ? `Safety · ${ticket.severity}` : "Safety") : null,
      h("span", {}, label(ticket.intent)),
      h("span", {}, `· ${ticket.channel}`),
      ticket.assignee_id ? h("span.qi-assignee", { title: "Assignee" }, ticket.assignee_id === me() ? "· Mine" : `· ${ticket.assignee_name || "Assigned"}`) : null,
      slaBadge(ticket),
    ),
  );
}

function render(freshIds) {
  clear(list);
  for (const ticket of tickets) list.append(row(ticket, freshIds.has(ticket.id)));
  empty.hidden = tickets.length > 0;
}

export async function load() {
  const values = filterValues();
  localStorage.setItem(FILTERS_KEY, JSON.stringify(values));
  try {
    const page = await api.get(`/tickets${query(apiParams(values))}`);
    const freshIds = new Set(knownIds.size ? page.tickets.filter((ticket) => !knownIds.has(ticket.id)).map((ticket) => ticket.id) : []);
    tickets = page.tickets;
    knownIds = new Set([...knownIds, ...tickets.map((ticket) => ticket.id)]);
    count.textContent = `${page.total} ticket${page.total === 1 ? "" : "s"}`;
    more.hidden = page.total <= tickets.length;
    render(freshIds);
  } catch (error) {
    clear(list);
    empty.hidden = false;
    empty.querySelector(".empty-title").textContent = "The queue could not be loaded";
    empty.querySelector(".empty-text").textContent = error.message;
  }
}

/// Reloads for a live event: the first event after a quiet moment at once (a new ticket shows
/// without waiting), the rest of a burst together in one request 150 ms after the last.
export function refreshSoon() {
  const now = Date.now();
  if (refreshTimer === null && now - lastLoadAt >= REFRESH_QUIET_MS) {
    lastLoadAt = now;
    load();
    return;
  }
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    lastLoadAt = Date.now();
    load();
  }, REFRESH_QUIET_MS);
}

export function open(ticketId) {
  select(ticketId);
  onOpen(ticketId);
}

export function select(ticketId) {
  selectedId = ticketId;
  for (const item of list.children) item.setAttribute("aria-selected", Number(item.dataset.ticketId) === ticketId ? "true" : "false");
}

/// Moves the selection by `step` (j/k) and returns the newly selected id.
export function move(step) {
  if (!tickets.length) return null;
  const index = tickets.findIndex((ticket) => ticket.id === selectedId);
  const next = tickets[Math.max(0, Math.min(tickets.length - 1, index < 0 ? 0 : index + step))];
  select(next.id);
  list.querySelector(`[data-ticket-id="${next.id}"]`)?.scrollIntoView({ block: "nearest" });
  return next.id;
}

export const selected = () => selectedId;

export function focusFilters() {
  form.querySelector("select")?.focus();
}

export function init(openTicket) {
  onOpen = openTicket;
  restoreFilters();
  form.addEventListener("change", () => {
    shown = PAGE_SIZE;
    knownIds = new Set();
    load();
  });
  more.addEventListener("click", () => {
    shown += PAGE_SIZE;
    load();
  });
}
