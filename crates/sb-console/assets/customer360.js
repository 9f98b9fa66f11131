// The customer 360 card of the ticket view: who the customer is (masked by the API for roles
// without the personal-data permission), the VIP flag with its toggle for roles that may
// change customers, a sparkline of the sentiment of their latest tickets, their orders with
// status and the carrier's tracking page, and their other tickets as links.
//
// Everything comes from GET /reports/customers/{id} (read by `load`, once per ticket load);
// the card only draws it. `otherOpenTickets` gives the merge dialog the customer's other
// open tickets from the same report.

import { api, ApiError } from "./api.js";
import { h, label, relative, dateTime, toast, can } from "./dom.js";
import { sparkline } from "./charts.js";

/// Tickets whose sentiment the sparkline draws (newest, then drawn oldest first).
const TREND_TICKETS = 12;
const OPEN = ["new", "open", "pending"];

export async function load(customerId) {
  if (!customerId) return null;
  try {
    return await api.get(`/reports/customers/${customerId}`);
  } catch {
    return null;
  }
}

/// The customer's open tickets other than `ticketId` (newest first).
export function otherOpenTickets(report, ticketId) {
  return ((report && report.tickets) || []).filter((ticket) => ticket.ticket_id !== ticketId && OPEN.includes(ticket.status));
}

function money(minor, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

function sentimentWord(value) {
  if (value === null || value === undefined) return "—";
  const word = value <= -0.25 ? "negative" : value >= 0.25 ? "positive" : "neutral";
  return `${word} (${value >= 0 ? "+" : ""}${value.toFixed(2)})`;
}

function trend(report, ticketId) {
  const points = report.tickets
    .filter((ticket) => ticket.sentiment !== null && ticket.sentiment !== undefined)
    .slice(0, TREND_TICKETS)
    .reverse()
    .map((ticket) => ({ value: ticket.sentiment, label: `#${ticket.ticket_id}${ticket.ticket_id === ticketId ? " (this ticket)" : ""} · ${dateTime(ticket.created_at)} · sentiment ${ticket.sentiment.toFixed(2)}` }));
  if (!points.length) return h("p.panel-empty#c360-trend", {}, "No analysed messages yet.");
  const first = points[0].value;
  const last = points[points.length - 1].value;
  const direction = points.length < 2 ? "" : last - first > 0.2 ? "improving" : first - last > 0.2 ? "getting worse" : "steady";
  return h(
    "div.c360-trend#c360-trend",
    { dataset: { points: String(points.length) } },
    sparkline(points, { label: `Sentiment of the last ${points.length} ticket${points.length === 1 ? "" : "s"}, oldest to newest` }),
    h("span.meta", {}, `Last ${points.length} ticket${points.length === 1 ? "" : "s"}${direction ? ` · ${direction}` : ""} · average ${sentimentWord(report.avg_sentiment)}`),
  );
}

function orders(report) {
  if (!report.orders.length) return h("p.panel-empty#c360-orders", {}, report.customer.redacted ? "Orders are listed for customers with an email on file." : "No orders on file for this customer.");
  return h(
    "ul.list.c360-orders#c360-orders",
    {},
    report.orders.map((order) =>
      h(
        "li",
        { dataset: { order: order.number } },
        h("div.c360-line", {}, h("span.title", {}, `#${order.number}`), h(`span.badge.order-${order.status}`, {}, label(order.status))),
        h("span.meta", {}, `Placed ${dateTime(order.placed_at)} · ${money(order.total_minor, order.currency)}${order.promised_delivery ? ` · promised ${order.promised_delivery}` : ""}`),
        order.tracking_url
          ? h("a.c360-track", { href: order.tracking_url, target: "_blank", rel: "noopener noreferrer" }, `Track with ${(order.carrier || "the carrier").toUpperCase()} · ${order.tracking_number}`)
          : h("span.meta", {}, order.status === "unfulfilled" ? "Not shipped yet" : "No tracking number"),
      ),
    ),
  );
}

function pastTickets(report, ticketId) {
  const others = report.tickets.filter((ticket) => ticket.ticket_id !== ticketId).slice(0, 8);
  if (!others.length) return h("p.panel-empty#c360-tickets", {}, "This is their first ticket.");
  return h(
    "ul.list#c360-tickets",
    {},
    others.map((ticket) =>
      h(
        "li",
        { dataset: { ticketId: String(ticket.ticket_id) } },
        h("a.title", { href: `/console/tickets/${ticket.ticket_id}` }, ticket.subject || label(ticket.intent) || `Ticket #${ticket.ticket_id}`),
        h("span.meta", {}, `#${ticket.ticket_id} · ${label(ticket.status)} · ${ticket.channel} · ${relative(ticket.created_at)}`),
      ),
    ),
  );
}

/// The card. `onChange()` is called after the VIP flag changed.
export function card(report, ticketId, onChange) {
  if (!report) return h("section.card#customer-360", { "aria-label": "Customer" }, h("div.card-head", {}, h("h2", {}, "Customer")), h("p.panel-empty", {}, "No customer is linked to this ticket."));
  const customer = report.customer;
  const name = customer.redacted ? `Customer #${customer.id}` : customer.name || customer.email || `Customer #${customer.id}`;
  const vipToggle = can("manage_customers")
    ? h(
        "button.button.c360-vip#vip-toggle",
        {
          type: "button",
          "aria-pressed": String(Boolean(customer.vip)),
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            try {
              await api.post(`/customers/${customer.id}/vip`, { vip: !customer.vip });
              toast(customer.vip ? "No longer a VIP" : "Marked as VIP");
              await onChange();
            } catch (error) {
              toast(error instanceof ApiError ? error.message : "The VIP flag could not be changed", "error");
            }
          },
        },
        customer.vip ? "Remove VIP" : "Mark as VIP",
      )
    : null;
  return h(
    "section.card#customer-360",
    { "aria-label": "Customer" },
    h("div.card-head", {}, h("h2", {}, "Customer"), customer.vip ? h("span.badge.vip#c360-vip", {}, "VIP") : h("span.muted#c360-vip", {}, "Not VIP")),
    h("div.c360-who", {}, h("strong#c360-name", {}, name), !customer.redacted && customer.email && customer.email !== name ? h("span.meta", {}, customer.email) : null, vipToggle),
    h(
      "dl.facts",
      {},
      h("dt", {}, "Tickets"),
      h("dd#c360-counts", {}, `${report.n_tickets} in all · ${report.n_open_tickets} open`),
      h("dt", {}, "Customer since"),
      h("dd", {}, report.first_contact_at ? dateTime(report.first_contact_at) : "—"),
    ),
    h("h3", {}, "Sentiment trend"),
    trend(report, ticketId),
    h("h3", {}, "Orders"),
    orders(report),
    h("h3", {}, "Other tickets"),
    pastTickets(report, ticketId),
  );
}
