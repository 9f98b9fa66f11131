// The audit log: newest first, filtered by actor, action and dates, paged with "Older entries"
// (the next page starts below the last id shown).

import { api, query } from "./api.js";
import { h } from "./dom.js";
import { fillTable, tableError, formValues } from "./admin-common.js";

const PAGE = 50;
const byId = (id) => document.getElementById(id);
let filters = {};
let lastId = null;

function details(value) {
  if (!value || (typeof value === "object" && !Object.keys(value).length)) return h("span.muted", {}, "—");
  const text = JSON.stringify(value);
  return h("code.mono.details", { title: JSON.stringify(value, null, 2) }, text.length > 120 ? `${text.slice(0, 119)}…` : text);
}

function row(entry) {
  const at = new Date(entry.at);
  return h("tr", { dataset: { auditId: entry.id } },
    h("td", {}, h("div.cell-main", {}, at.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" })), h("div.cell-sub", {}, `#${entry.id}`)),
    h("td.mono", {}, entry.actor),
    h("td", {}, h("span.chip", {}, entry.action)),
    h("td", {}, entry.entity_id ? `${entry.entity_type} ${entry.entity_id}` : entry.entity_type),
    h("td", {}, details(entry.details)));
}

async function load(more) {
  const body = byId("audit");
  try {
    const params = { ...filters, limit: PAGE, before: more ? lastId : null };
    // The filtered listing needs at least one filter; without any the API lists the latest.
    const answer = await api.get(`/audit${query(params)}`);
    const entries = answer.entries || [];
    if (more) for (const entry of entries) body.append(row(entry));
    else fillTable(body, entries, row, Object.keys(filters).length ? "No entries match these filters." : "The audit log is empty.");
    if (entries.length) lastId = entries[entries.length - 1].id;
    byId("audit-more").hidden = entries.length < PAGE;
  } catch (error) {
    tableError(body, error);
  }
}

export async function init() {
  const form = byId("audit-filters");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(form);
    filters = Object.fromEntries(Object.entries(values).filter(([, value]) => value));
    load(false);
  });
  byId("audit-clear").addEventListener("click", () => {
    form.reset();
    filters = {};
    load(false);
  });
  byId("audit-more").addEventListener("click", () => load(true));
  byId("audit-verify").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const result = byId("audit-verify-result");
    button.disabled = true;
    result.textContent = "Walking the chain…";
    try {
      const verification = await api.get("/audit/verify");
      result.parentElement.dataset.state = verification.intact ? "ok" : "bad";
      result.textContent = verification.intact
        ? `Intact: all ${verification.entries_checked} entries link to their predecessor and match their hash.`
        : `Tampering found at entry #${verification.first_bad_entry_id}: ${verification.problem}. Entries before it (${verification.entries_checked - 1}) are intact.`;
    } catch (error) {
      result.textContent = `Could not verify: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  await load(false);
}
