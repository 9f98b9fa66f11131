// The IMAP mailboxes this server process reads: whether each reader has a session open, what
// it fetched, and its last error, refreshed every 15 seconds while the page is open.

import { api } from "./api.js";
import { h, relative, dateTime } from "./dom.js";
import { fillTable, tableError } from "./admin-common.js";

const REFRESH_MS = 15000;

function when(iso) {
  return iso ? h("span", { title: dateTime(iso) }, relative(iso)) : h("span.muted", {}, "never");
}

function row(mailbox) {
  const connection = mailbox.connected
    ? h("span.badge.status-resolved", {}, "Connected")
    : h("span.badge.sla-soon", {}, "Reconnecting");
  return h("tr", { dataset: { mailbox: mailbox.mailbox } },
    h("td", {}, h("div.cell-main", {}, mailbox.mailbox)),
    h("td", {}, connection, mailbox.since ? h("span.cell-sub", {}, " since ", when(mailbox.since)) : null),
    h("td.num", {}, String(mailbox.mails_fetched)),
    h("td", {}, when(mailbox.last_fetch_at)),
    h("td.num", {}, String(mailbox.errors)),
    h("td", {}, mailbox.last_error ? h("span", { title: mailbox.last_error_at ? dateTime(mailbox.last_error_at) : "" }, mailbox.last_error) : h("span.muted", {}, "none")));
}

async function refresh(body) {
  try {
    const answer = await api.get("/email/mailboxes");
    fillTable(body, answer.mailboxes || [], row, "No IMAP mailbox is configured: mail arrives by webhook (POST /api/v1/inbound/email) or import only.");
  } catch (error) {
    tableError(body, error);
  }
}

export async function init() {
  const body = document.getElementById("mailboxes");
  await refresh(body);
  setInterval(() => refresh(body), REFRESH_MS);
}
