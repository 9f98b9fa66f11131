// The ticket view: header with facts and actions, the conversation, the composer, and the side
// panels — the AI analysis of the latest decision and the agent-assist panel (suggested
// reply, articles, similar solved tickets, summary, possible duplicates) and the customer 360.
// Everything comes from GET /tickets/{id}, GET /tickets/{id}/assist and the customer report,
// already masked by the API for the role. Transfer and merge open dialogs (handoff.js).

import { api, ApiError } from "./api.js";
import { h, clear, label, percent, relative, dateTime, priorityBadge, slaBadge, toast, can, me } from "./dom.js";
import { composer } from "./composer.js";
import * as typing from "./typing.js";
import * as customer360 from "./customer360.js";
import { openTransfer, openMerge, mergeCandidates } from "./handoff.js";

const view = document.getElementById("ticket-view");
const placeholder = document.getElementById("ticket-placeholder");

let current = null; // { id, detail, assist, report, composer, mergedFrom }
let loadSeq = 0;
let shownId = null; // the ticket the view shows, or is loading (set before its fetch returns)
let mergeNotice = null; // { from, into }: a merge just done, announced when `into` is shown

function customerName(detail) {
  const customer = detail.customer;
  if (!customer) return "Unknown customer";
  if (customer.redacted) return `Customer #${customer.id}`;
  return customer.name || customer.email || customer.phone || `Customer #${customer.id}`;
}

// ---- header and actions ----

function header(detail) {
  const ticket = detail.ticket;
  const mine = ticket.assignee_id === me();
  const done = ["resolved", "closed"].includes(ticket.status);
  const writable = can("write") && ticket.status !== "merged" && (!ticket.assignee_id || mine || can("assign"));
  const escalateForm = h(
    "form.escalate-form#escalate-form",
    { hidden: true, onsubmit: (event) => { event.preventDefault(); act("escalate", { reason: event.target.reason.value }); } },
    h("input", { name: "reason", placeholder: "Why escalate? (mention safety or harm to move it to the safety queue)", required: true, maxlength: "1000", "aria-label": "Escalation reason" }),
    h("button.button.primary", { type: "submit" }, "Escalate"),
    h("button.button.ghost", { type: "button", onclick: () => (escalateForm.hidden = true) }, "Cancel"),
  );
  const actions = writable
    ? h(
        "div.actions#ticket-actions",
        {},
        !mine && !ticket.assignee_id ? h("button.button#action-assign", { type: "button", onclick: () => act("assign", { assignee_id: me() }) }, "Assign to me ", h("kbd", {}, "a")) : null,
        !done ? h("button.button#action-resolve", { type: "button", onclick: () => act("status", { status: "resolved" }) }, "Resolve ", h("kbd", {}, "e")) : null,
        done ? h("button.button#action-reopen", { type: "button", onclick: () => act("status", { status: "open" }) }, "Reopen ", h("kbd", {}, "o")) : null,
        !done && ticket.status !== "pending" ? h("button.button#action-pending", { type: "button", onclick: () => act("status", { status: "pending" }) }, "Wait on customer") : null,
        h("button.button#action-transfer", { type: "button", onclick: transfer }, "Transfer ", h("kbd", {}, "t")),
        h("button.button#action-merge", { type: "button", onclick: merge }, "Merge ", h("kbd", {}, "m")),
        h("button.button.danger#action-escalate", { type: "button", onclick: () => { escalateForm.hidden = false; escalateForm.reason.focus(); } }, "Escalate ", h("kbd", {}, "x")),
      )
    : h("p.muted#read-only-note", {}, ticket.status === "merged" ? `Merged into ticket #${ticket.merged_into}.` : can("write") ? "Assigned to someone else: you can read it, not act on it." : "Read-only: your role cannot act on tickets.");
  return h(
    "header.ticket-head",
    {},
    h("div.ticket-title", {}, h("h1#ticket-subject", {}, ticket.subject || label(ticket.intent)), h("span.ticket-id", {}, `#${ticket.id}`)),
    h(
      "div.ticket-facts",
      {},
      h(`span.badge.status-${ticket.status}#ticket-status`, {}, label(ticket.status)),
      ticket.queue === "safety" ? h("span.badge.queue-safety", {}, "Safety queue") : h("span.badge", {}, `${label(ticket.queue)} queue`),
      priorityBadge(ticket.priority),
      slaBadge(ticket),
      h("span.sep", {}, "·"),
      h("span#ticket-customer", {}, customerName(detail)),
      detail.customer && detail.customer.vip ? h("span.badge.sla-soon", {}, "VIP") : null,
      h("span.sep", {}, "·"),
      h("span", {}, `${ticket.channel}, opened ${relative(ticket.created_at)}`),
      h("span.sep", {}, "·"),
      h("span#ticket-assignee", {}, ticket.assignee_id ? (ticket.assignee_id === me() ? "Assigned to you" : `Assigned to ${ticket.assignee_name || `user #${ticket.assignee_id}`}`) : "Unassigned"),
    ),
    actions,
    escalateForm,
  );
}

async function act(action, body) {
  if (!current) return;
  const ticketId = current.id;
  const path = { assign: "assign", status: "status", escalate: "escalate" }[action];
  try {
    await api.post(`/tickets/${ticketId}/${path}`, body);
    toast({ assign: "Assigned to you", status: `Marked ${body.status}`, escalate: "Escalated" }[action]);
    await refresh();
  } catch (error) {
    toast(error instanceof ApiError ? error.message : "The action failed", "error");
  }
}

function transfer() {
  if (!current) return;
  openTransfer(current.detail.ticket, async () => refresh());
}

function merge() {
  if (!current) return;
  const { detail, assist, report } = current;
  const candidates = mergeCandidates(detail.ticket.id, assist, customer360.otherOpenTickets(report, detail.ticket.id));
  const nMessages = detail.messages.filter((entry) => entry.direction !== "note").length;
  openMerge(detail.ticket, nMessages, candidates, async (target) => {
    // Show the result: the ticket merged into, with the moved messages, and a notice. The
    // notice waits for whichever load of the target lands (a live refresh may overtake this one).
    mergeNotice = { from: detail.ticket.id, into: target.id };
    await open(target.id);
  });
}

// ---- conversation ----

function message(entry) {
  const automatic = entry.direction === "outbound" && entry.metadata && entry.metadata.automatic;
  const who = entry.direction === "inbound" ? "Customer" : entry.direction === "note" ? "Internal note" : automatic ? "Automatic reply" : entry.author_user_id === me() ? "You" : `Agent #${entry.author_user_id ?? "?"}`;
  return h(
    `article.message.${entry.direction}${automatic ? ".automatic" : ""}`,
    { dataset: { messageId: entry.id } },
    h("div.byline", {}, h("strong", {}, who), h("span", { title: entry.received_at }, dateTime(entry.received_at))),
    h("div.bubble", {}, entry.subject && entry.direction === "inbound" ? h("div.subject", {}, entry.subject) : null, entry.body),
    attachments(entry),
  );
}

/// An email's attachments as download links (the API serves each as a file, never rendered
/// in the console). The list comes from the message's metadata, which roles without the
/// personal-data permission do not get.
function attachments(entry) {
  const files = (entry.metadata && entry.metadata.email && entry.metadata.email.attachments) || [];
  if (!files.length || !current) return null;
  return h(
    "ul.attachments",
    { "aria-label": "Attachments" },
    files.map((file, index) =>
      h(
        "li",
        {},
        h("a.attachment", { href: `/api/v1/tickets/${entry.ticket_id ?? current.id}/messages/${entry.id}/attachments/${index}`, download: file.filename || `attachment-${index}` }, file.filename || `attachment ${index + 1}`),
        h("span.attachment-meta", {}, `${file.content_type} · ${size(file.size)}${file.inline ? " · inline" : ""}`),
      ),
    ),
  );
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function conversation(detail) {
  const node = h("div.conversation#conversation", { "aria-label": "Conversation" });
  if (current && current.mergedFrom) node.append(h("p.merge-notice#merge-result", { role: "status" }, `Ticket #${current.mergedFrom} was merged into this one: its messages are in this conversation.`));
  if (!detail.messages.length) node.append(h("p.panel-empty", {}, "No messages yet."));
  for (const entry of detail.messages) node.append(message(entry));
  return node;
}

// ---- AI analysis ----

function meter(value, low) {
  return h("div.meter", {}, h(`div.meter-bar${low ? ".low" : ""}`, {}, h("span", { style: { width: `${Math.round((value || 0) * 100)}%` } })), h("span", {}, percent(value)));
}

function entityText(entity) {
  const value = entity.value || {};
  if (value.number) return value.carrier ? `${value.number} (${label(value.carrier)})` : value.number;
  if (value.amount) return `${value.amount}${value.currency ? " " + value.currency : ""}`;
  if (value.date) return value.date;
  return entity.text || "—";
}

function aiPanel(detail) {
  const record = detail.decision;
  const card = h("section.card#ai-panel", { "aria-label": "AI analysis" }, h("div.card-head", {}, h("h2", {}, "AI analysis"), record && record.triage ? h("span.muted", {}, record.triage.model ? `${record.triage.model.name} ${record.triage.model.version}` : "") : null));
  if (!record || !record.triage) {
    card.append(h("p.panel-empty", {}, "Not triaged yet: the message is stored and the analysis will appear when triage finishes."));
    return card;
  }
  const triage = record.triage;
  const decision = record.decision || {};
  const ranking = (triage.ranking || []).slice(0, 3);
  const redactions = triage.pii || [];
  const kinds = [...new Set(redactions.map((span) => span.kind))];
  card.append(
    h("dl.facts", {},
      h("dt", {}, "Intent"), h("dd#ai-intent", {}, h("strong", {}, label(triage.intent)), " · ", label(triage.category)),
      h("dt", {}, "Confidence"), h("dd#ai-confidence", {}, meter(triage.confidence, triage.confidence < 0.5)),
      h("dt", {}, "Sentiment"), h("dd#ai-sentiment", {}, `${label(triage.sentiment && triage.sentiment.label)} (${triage.sentiment ? triage.sentiment.score.toFixed(2) : "—"})`),
      h("dt", {}, "Language"), h("dd", {}, triage.language ? `${triage.language.code} (${percent(triage.language.confidence)} sure)` : "—"),
      h("dt", {}, "Severity"), h("dd#ai-severity", {}, triage.severity ? h("span.badge.severity", {}, label(triage.severity)) : "None (not a safety case)"),
      h("dt", {}, "Priority"), h("dd", {}, decision.priority ? `${decision.priority.score} of 100` : String(detail.ticket.priority)),
    ),
    h("h3", {}, "Top intents"),
    h("ol.ranking#ai-ranking", {}, ranking.map((entry) => h("li", {}, h("span", {}, label(entry.intent)), h("div.meter-bar", {}, h("span", { style: { width: `${Math.round(entry.probability * 100)}%` } })), h("span.value", {}, percent(entry.probability))))),
    h("h3", {}, "Entities"),
    (triage.entities || []).length ? h("div.chips#ai-entities", {}, triage.entities.map((entity) => h("span.chip", {}, h("span.kind", {}, label(entity.kind)), entityText(entity)))) : h("p.panel-empty#ai-entities", {}, "No order numbers, tracking numbers, amounts or dates found."),
    h("h3", {}, "Redactions"),
    kinds.length ? h("div.chips#ai-redactions", {}, kinds.map((kind) => h("span.chip", {}, label(kind), h("span.kind", {}, `× ${redactions.filter((span) => span.kind === kind).length}`)))) : h("p.panel-empty#ai-redactions", {}, "No personal data found in the message."),
    h(`div.decision.route-${record.route || decision.route}#ai-decision`, {}, h("strong", {}, `Decision: ${label(record.route || decision.route)}`), h("p", {}, decision.reason || "—")),
  );
  return card;
}

// ---- assist ----

function assistPanels(assist, reply) {
  if (!assist) return [h("section.card", {}, h("h2", {}, "Assist"), h("p.panel-empty", {}, "Suggestions are not available for this ticket."))];
  const suggestion = assist.suggested_reply || {};
  const source = { template: `Template “${suggestion.template_name || ""}”`, workflow_draft: "Prepared by the workflow", generic_template: "Generic template", built_in: "Built-in text" }[suggestion.source] || "Suggestion";
  const suggested = h(
    "section.card#assist-reply",
    { "aria-label": "Suggested reply" },
    h("div.card-head", {}, h("h2", {}, "Suggested reply"), h("span.muted", {}, source)),
    (suggestion.missing || []).length ? h("p.muted", {}, `Needs: ${suggestion.missing.map((name) => `{{${name}}}`).join(", ")}`) : h("p.muted", {}, "Complete: every variable is filled."),
    reply ? h("button.button#use-suggestion", { type: "button", onclick: () => { reply.suggest(suggestion.text || "", { force: true }); reply.focus("reply"); } }, "Put in the editor") : null,
  );
  const articles = h("section.card#assist-articles", {}, h("div.card-head", {}, h("h2", {}, "Knowledge base")),
    (assist.articles || []).length
      ? h("ul.list", {}, assist.articles.map((article) => h("li", {}, h("a.title", { href: article.url, target: "_blank", rel: "noopener" }, article.title), article.heading ? h("span.meta", {}, article.heading) : null, h("span.snippet", {}, article.passage))))
      : h("p.panel-empty", {}, "No article matches this request."));
  const similar = h("section.card#assist-similar", {}, h("div.card-head", {}, h("h2", {}, "Similar solved tickets")),
    (assist.similar_tickets || []).length
      ? h("ul.list", {}, assist.similar_tickets.map((entry) => h("li", {}, h("a.title", { href: `/console/tickets/${entry.ticket_id}` }, entry.subject || `Ticket #${entry.ticket_id}`), h("span.meta", {}, `${label(entry.intent)} · resolved ${relative(entry.resolved_at)} · ${percent(entry.score)} match`), entry.resolution ? h("span.snippet", {}, entry.resolution) : null)))
      : h("p.panel-empty", {}, assist.similar_index_ready === false ? "The index of solved tickets is still loading." : "No similar solved ticket yet."));
  const summary = assist.summary || {};
  const summaryCard = h("section.card#assist-summary", {}, h("div.card-head", {}, h("h2", {}, "Summary")),
    summary.request ? h("p", {}, summary.request) : h("p.panel-empty", {}, "Nothing to summarise yet."),
    (summary.done || []).length ? [h("h3", {}, "Done"), h("ul.summary-list", {}, summary.done.map((item) => h("li", {}, item)))] : null,
    (summary.pending || []).length ? [h("h3", {}, "Pending"), h("ul.summary-list", {}, summary.pending.map((item) => h("li", {}, item)))] : null);
  const panels = [suggested, summaryCard, articles, similar];
  if ((assist.possible_duplicates || []).length) {
    panels.push(h("section.card#assist-duplicates", {}, h("div.card-head", {}, h("h2", {}, "Possible duplicates")),
      h("ul.list", {}, assist.possible_duplicates.map((entry) => h("li", {}, h("a.title", { href: `/console/tickets/${entry.ticket_id}` }, entry.subject || `Ticket #${entry.ticket_id}`), h("span.meta", {}, `${label(entry.status)} · ${percent(entry.similarity)} similar${(entry.shared_order_numbers || []).length ? " · same order " + entry.shared_order_numbers.join(", ") : ""}`))))));
  }
  return panels;
}

// ---- loading and rendering ----

async function fetchTicket(ticketId) {
  const detailLoaded = api.get(`/tickets/${ticketId}`);
  const reportLoaded = detailLoaded.then((detail) => customer360.load(detail.ticket.customer_id)).catch(() => null);
  const [detail, assist, report] = await Promise.all([detailLoaded, api.get(`/tickets/${ticketId}/assist`).catch(() => null), reportLoaded]);
  return { detail, assist, report };
}

// Canned responses, read once per page: one per shortcut, in the ticket's language when there
// is one (else English, else any), those in the ticket's language first.
let cannedLoaded = null;

async function cannedFor(language) {
  cannedLoaded ??= api.get("/templates?kind=canned").then((answer) => answer.templates).catch((error) => {
    cannedLoaded = null;
    throw error;
  });
  const templates = (await cannedLoaded).filter((template) => template.shortcut);
  const byShortcut = new Map();
  const rank = (template) => (template.language === language ? 0 : template.language === "en" ? 1 : 2);
  for (const template of templates) {
    const known = byShortcut.get(template.shortcut);
    if (!known || rank(template) < rank(known)) byShortcut.set(template.shortcut, template);
  }
  return [...byShortcut.values()].sort((left, right) => rank(left) - rank(right) || left.shortcut.localeCompare(right.shortcut));
}

/// A canned response filled for the open ticket as the suggested reply is (the assist API).
async function fillCanned(ticketId, shortcut) {
  const assist = await api.get(`/tickets/${ticketId}/assist?canned=${encodeURIComponent(shortcut)}`);
  if (!assist.canned_reply) throw new Error("no canned reply");
  return assist.canned_reply.text;
}

function render(keepComposer) {
  const { detail, assist } = current;
  const writable = can("write") && detail.ticket.status !== "merged" && (!detail.ticket.assignee_id || detail.ticket.assignee_id === me() || can("assign"));
  if (!keepComposer || !current.composer) {
    const ticketNow = () => current.detail.ticket;
    const ticketId = current.id;
    const canned = {
      list: () => cannedFor((current && current.assist && current.assist.language) || "en"),
      fill: (shortcut) => fillCanned(ticketId, shortcut),
    };
    current.composer = composer({ canWrite: writable, onSend: send, onTyping: () => typing.agentTyping(ticketNow()), canned });
  }
  const scroll = view.querySelector(".conversation");
  const atBottom = !scroll || scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - 40;
  clear(view);
  const talk = conversation(detail);
  // The customer right after the suggested reply: who they are decides how to answer.
  const panels = assistPanels(assist, writable ? current.composer : null);
  panels.splice(1, 0, customer360.card(current.report, detail.ticket.id, refresh));
  // Read-only callers get no editor at all: the header says why.
  view.append(h("div.ticket-main", {}, header(detail), talk, typing.indicator(detail.ticket.id), writable ? current.composer.root : null), h("aside.side#side", { "aria-label": "Analysis and assist" }, aiPanel(detail), panels));
  if (atBottom || !keepComposer) talk.scrollTop = talk.scrollHeight;
  if (!keepComposer && assist && assist.suggested_reply && assist.suggested_reply.text && detail.ticket.status !== "resolved") {
    current.composer.suggest(assist.suggested_reply.text);
  }
}

async function send(mode, text) {
  const ticketId = current.id;
  try {
    if (mode === "reply") await api.post(`/tickets/${ticketId}/reply`, { body: text });
    else await api.post(`/tickets/${ticketId}/notes`, { body: text });
    toast(mode === "reply" ? "Reply sent" : "Note added");
    await refresh();
  } catch (error) {
    toast(error instanceof ApiError ? error.message : "Sending failed", "error");
    throw error;
  }
}

export async function open(ticketId) {
  const seq = ++loadSeq;
  shownId = ticketId;
  placeholder.hidden = true;
  view.hidden = false;
  document.querySelector(".workspace")?.classList.add("has-ticket");
  if (!current || current.id !== ticketId) {
    clear(view).append(h("p.skeleton", {}, "Loading ticket…"));
  }
  try {
    const loaded = await fetchTicket(ticketId);
    if (seq !== loadSeq) return;
    const same = current && current.id === ticketId;
    current = { ...(same ? current : {}), id: ticketId, ...loaded };
    if (mergeNotice && mergeNotice.into === ticketId) {
      current.mergedFrom = mergeNotice.from;
      mergeNotice = null;
    }
    render(same);
    if (window.location.pathname !== `/console/tickets/${ticketId}`) history.replaceState(null, "", `/console/tickets/${ticketId}`);
  } catch (error) {
    if (seq !== loadSeq) return;
    current = null;
    clear(view).append(h("div.empty.empty-large", {}, h("p.empty-title", {}, error.status === 404 ? "This ticket does not exist" : "The ticket could not be loaded"), h("p.empty-text", {}, error.message)));
  }
}

/// Reloads the open ticket, keeping what the agent is typing. While another ticket is loading
/// (a merge moving to its target, a click in the queue), that one: a live event about the ticket
/// being left must not win the race and bring it back.
export async function refresh() {
  if (shownId !== null) await open(shownId);
}

export const openId = () => (current ? current.id : null);

/// A live typing event: shown when it is the open ticket's customer.
export function typingEvent(event) {
  if (event.party === "customer" && event.ticket_id === openId()) typing.customerTyping(event.ticket_id);
}

/// A message arrived in the open ticket: a customer's ends their typing hint.
export function messageEvent(event) {
  if (event.direction === "inbound" && event.ticket_id === openId()) typing.hide();
}

/// Shortcut entry points.
export const shortcuts = {
  reply: () => current && current.composer && current.composer.focus("reply"),
  note: () => current && current.composer && current.composer.focus("note"),
  assign: () => document.getElementById("action-assign")?.click(),
  resolve: () => document.getElementById("action-resolve")?.click(),
  reopen: () => document.getElementById("action-reopen")?.click(),
  escalate: () => document.getElementById("action-escalate")?.click(),
  transfer: () => document.getElementById("action-transfer")?.click(),
  merge: () => document.getElementById("action-merge")?.click(),
};
