// Building DOM nodes from data without ever parsing it as HTML (text goes in as text), and the
// few formatting rules every panel shares.

/// h("div.card#main", {attrs}, child, …): children are nodes, strings (as text) or arrays;
/// null, undefined and false are skipped. Attributes: `on<event>` adds a listener, `dataset`
/// an object of data- attributes, `style` an object of CSS properties, `hidden`/`disabled` booleans.
export function h(selector, attrs, ...children) {
  const [tagAndClasses, id] = selector.split("#");
  const [tag, ...classes] = tagAndClasses.split(".");
  const node = document.createElement(tag || "div");
  if (classes.length) node.className = classes.join(" ");
  if (id) node.id = id;
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (key === "style") Object.assign(node.style, value);
    else if (key === "class") node.className = [node.className, value].filter(Boolean).join(" ");
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/// "track_order" → "Track order".
export function label(value) {
  if (!value) return "—";
  const text = String(value).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

/// "3 min ago", "in 2 h", "5 d ago".
export function relative(iso) {
  if (!iso) return "—";
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const [amount, unit] = abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "min"] : abs < 86400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  if (abs < 30) return "just now";
  return seconds < 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`;
}

export function dateTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function priorityBadge(priority) {
  const level = priority >= 75 ? "high" : priority >= 50 ? "medium" : "";
  return h(`span.priority${level ? "." + level : ""}`, { title: `Priority ${priority} of 100` }, String(priority));
}

/// The ticket's SLA state as a badge: breached, due soon (within an hour) or when it is due.
export function slaBadge(ticket) {
  if (ticket.first_response_breached || ticket.resolution_breached) return h("span.badge.sla-breached", {}, "SLA breached");
  if (["resolved", "closed", "merged"].includes(ticket.status)) return null;
  if (ticket.sla_paused_at) return h("span.badge", {}, "SLA paused");
  const due = ticket.first_responded_at ? ticket.resolution_due_at : ticket.first_response_due_at;
  if (!due) return null;
  const soon = new Date(due).getTime() - Date.now() < 3600 * 1000;
  return h(`span.badge${soon ? ".sla-soon" : ""}`, { title: `${ticket.first_responded_at ? "Resolution" : "First response"} due ${dateTime(due)}` }, `Due ${relative(due)}`);
}

export function toast(message, kind) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const node = h(`div.toast${kind === "error" ? ".error" : ""}`, {}, message);
  box.append(node);
  setTimeout(() => node.remove(), kind === "error" ? 6000 : 3000);
}

export const can = (permission) => (document.body.dataset.permissions || "").split(" ").includes(permission);
export const me = () => Number(document.body.dataset.userId);
