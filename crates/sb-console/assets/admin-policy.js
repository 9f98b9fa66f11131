// The decision policy's editors: SLA policies (targets; matches and calendars are read-only)
// and the auto-reply thresholds (the general one, and per intent). Admins get the forms (the
// page renders them only for them); everyone else sees the tables.
//
// Every value says where it comes from: the configuration file, or an admin's change (who,
// when). Every save and reset sends the version it was made on (`expected_version`): when
// someone saved meanwhile the API answers 409, the form keeps what the person typed and offers
// the current values instead of overwriting them. A 422 lists every problem the API found.

import { api } from "./api.js";
import { h, label, dateTime, toast } from "./dom.js";
import { fillTable, tableError, formValues } from "./admin-common.js";

const byId = (id) => document.getElementById(id);

function applies(matches) {
  const parts = [];
  if (matches.severity) parts.push(`severity ${matches.severity}`);
  if (matches.intent) parts.push(label(matches.intent));
  if (matches.category) parts.push(label(matches.category));
  if (matches.priority) parts.push(`priority ${matches.priority.min}–${matches.priority.max}`);
  return parts.length ? parts.join(", ") : "every other ticket";
}

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

function calendar(value) {
  if (value.kind === "always_open") return h("span", {}, "24/7");
  const open = DAYS.filter((day) => (value.weekly_hours[day] || []).length);
  const first = value.weekly_hours[open[0]] || [];
  const same = open.every((day) => (value.weekly_hours[day] || []).join() === first.join());
  const days = open.length === 5 && open[0] === "monday" && open[4] === "friday" ? "Mon–Fri" : open.map((day) => label(day).slice(0, 3)).join(", ");
  const hours = same ? first.join(", ") : "varies by day";
  const holidays = (value.holidays || []).length;
  return h("span", {}, `${days} ${hours}`, h("span.cell-sub", {}, ` ${value.time_zone.replace(/_/g, " ")}${holidays ? ` · ${holidays} holiday${holidays === 1 ? "" : "s"}` : ""}`));
}

/// "Changed by Ada Admin · 4 Dec 2026, 14:02", "Reset to configuration by …", or "From configuration".
function provenance(item) {
  const change = item.last_change;
  if (item.ignored) return `Configuration in force: a stored change no longer applies (${item.ignored})`;
  if (!change) return "From configuration";
  const who = change.changed_by_name || change.changed_by;
  return change.reset ? `From configuration · reset by ${who}, ${dateTime(change.changed_at)}` : `Changed by ${who} · ${dateTime(change.changed_at)}`;
}

function provenanceCell(item) {
  return item.overridden ? h("span.badge.status-open", { title: provenance(item) }, "Changed") : null;
}

/// The API's problems (or its message) in the editor's error box; null hides it.
function showProblems(node, error) {
  node.replaceChildren();
  node.hidden = !error;
  if (!error) return;
  const problems = error.problems && error.problems.length ? error.problems : [error.message || String(error)];
  if (problems.length === 1) {
    node.append(problems[0]);
    return;
  }
  node.append(h("ul.problem-list", {}, problems.map((problem) => h("li", {}, problem))));
}

/// One override editor (`prefix`-form and its boxes): fill, save, reset, conflicts.
function editor(prefix, { save, reset, describe, fill }) {
  const form = byId(`${prefix}-form`);
  if (!form) return null;
  let item = null; // the subject as last loaded: its version is what a change is made on
  let reload = async () => {};

  function show(next) {
    item = next;
    form.hidden = false;
    byId(`${prefix}-conflict`).hidden = true;
    showProblems(byId(`${prefix}-error`), null);
    byId(`${prefix}-provenance`).textContent = provenance(next);
    byId(`${prefix}-reset`).hidden = !next.overridden;
    fill(form, next);
  }

  async function run(action, done) {
    showProblems(byId(`${prefix}-error`), null);
    try {
      await action(item);
      toast(done);
      await reload();
    } catch (error) {
      if (error.status === 409) {
        byId(`${prefix}-conflict`).hidden = false;
        byId(`${prefix}-conflict-text`).textContent = `Someone changed ${describe(item)} after you opened it (version ${item.version}). Your values are still in the form: load the current values, then apply your change again.`;
        return;
      }
      showProblems(byId(`${prefix}-error`), error);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run((current) => save(current, formValues(form), form), "Saved: applies to messages triaged from now on");
  });
  byId(`${prefix}-reset`).addEventListener("click", () => {
    if (!item || !confirm(`Reset ${describe(item)} to the configuration file's value?`)) return;
    run((current) => reset(current), "Reset to the configuration");
  });
  byId(`${prefix}-cancel`)?.addEventListener("click", () => {
    form.hidden = true;
    item = null;
    for (const selected of document.querySelectorAll("tr[aria-selected]")) selected.removeAttribute("aria-selected");
  });
  return {
    show,
    current: () => item,
    onReload(callback) {
      reload = callback;
      byId(`${prefix}-reload`).addEventListener("click", callback);
    },
  };
}

function select(row) {
  for (const selected of row.parentNode.querySelectorAll("tr[aria-selected]")) selected.removeAttribute("aria-selected");
  row.setAttribute("aria-selected", "true");
}

// ---- SLA policies ----

export async function initSla() {
  const body = byId("sla-policies");
  const slaEditor = editor("sla", {
    describe: (policy) => `the targets of “${policy.name}”`,
    fill(form, policy) {
      byId("sla-form-title").textContent = policy.name;
      form.elements.first_response.value = policy.first_response;
      form.elements.resolution.value = policy.resolution;
      byId("sla-configured").textContent = `The configuration file sets ${policy.configured_first_response} to the first response and ${policy.configured_resolution} to resolution. Tickets already open keep their deadlines.`;
    },
    save: (policy, values) => api.put(`/sla/policies/${encodeURIComponent(policy.name)}`, { first_response: values.first_response, resolution: values.resolution, expected_version: policy.version }),
    reset: (policy) => api.delete(`/sla/policies/${encodeURIComponent(policy.name)}?expected_version=${policy.version}`),
  });

  function row(policy) {
    const open = () => {
      if (!slaEditor) return;
      slaEditor.show(policy);
      select(rowNode);
    };
    const rowNode = h("tr", { dataset: { policy: policy.name }, tabindex: slaEditor ? "0" : null, onclick: open, onkeydown: (event) => event.key === "Enter" && open() },
      h("td", {}, h("div.cell-main", {}, policy.name, " ", provenanceCell(policy)), h("div.cell-sub", {}, provenance(policy))),
      h("td", {}, applies(policy.matches)),
      h("td.num", {}, policy.first_response),
      h("td.num", {}, policy.resolution),
      h("td", {}, calendar(policy.calendar)));
    return rowNode;
  }

  async function load() {
    try {
      const answer = await api.get("/sla/policies");
      const policies = answer.policies || [];
      fillTable(body, policies, row, "No SLA policies: tickets run without deadlines.");
      const open = slaEditor?.current();
      const fresh = open && policies.find((policy) => policy.name === open.name);
      if (fresh) {
        slaEditor.show(fresh);
        body.querySelector(`tr[data-policy="${CSS.escape(fresh.name)}"]`)?.setAttribute("aria-selected", "true");
      }
    } catch (error) {
      tableError(body, error);
    }
  }
  slaEditor?.onReload(load);
  await load();
}

// ---- Auto-reply thresholds ----

const SOURCES = { default: "General threshold", intent: "Set for this intent", disabled: "Never (disabled)", safety: "Never (safety)" };

function meter(value) {
  if (value === null || value === undefined) return h("span.muted", {}, "never automatic");
  return h("div.meter", {}, h("div.meter-bar", {}, h("span", { style: { width: `${Math.round(value * 100)}%` } })), h("span.mono", {}, value.toFixed(2)));
}

const threshold = (value) => (value === null || value === undefined ? "" : String(Math.round(value * 100) / 100));

/// A number from a form field, or the text itself so the API names what is wrong with it.
const number = (text) => (text === "" || Number.isNaN(Number(text)) ? text : Number(text));

export async function initThresholds() {
  const body = byId("thresholds");
  let policy = null;

  const generalEditor = editor("general", {
    describe: () => "the general threshold",
    fill(form, general) {
      form.elements.threshold.value = threshold(general.auto_reply_confidence);
      byId("general-configured").textContent = `For every intent without its own threshold. The configuration file sets ${threshold(general.configured)}; it may not be below the low-confidence line (${threshold(policy.low_confidence_threshold)}).`;
    },
    save: (general, values) => api.put("/policy/thresholds", { auto_reply_confidence_threshold: number(values.threshold), expected_version: general.version }),
    reset: (general) => api.delete(`/policy/thresholds?expected_version=${general.version}`),
  });

  const intentEditor = editor("threshold", {
    describe: (intent) => `the threshold of ${label(intent.intent)}`,
    fill(form, intent) {
      byId("threshold-form-title").textContent = label(intent.intent);
      form.elements.enabled.checked = intent.current.auto_reply_enabled;
      form.elements.own.checked = intent.current.auto_reply_confidence !== null;
      form.elements.threshold.value = threshold(intent.current.auto_reply_confidence ?? policy.auto_reply_confidence_threshold);
      form.elements.threshold.disabled = !form.elements.own.checked;
      const configured = intent.configured;
      const configuredText = !configured.auto_reply_enabled ? "never answered automatically" : configured.auto_reply_confidence === null ? `the general threshold (${threshold(policy.general.configured)})` : `its own threshold ${threshold(configured.auto_reply_confidence)}`;
      byId("threshold-configured").textContent = `The configuration file sets ${configuredText}. Thresholds may not be below the low-confidence line (${threshold(policy.low_confidence_threshold)}).`;
    },
    save: (intent, values, form) =>
      api.put(`/policy/thresholds/${intent.intent}`, {
        auto_reply_enabled: form.elements.enabled.checked,
        auto_reply_confidence: form.elements.own.checked ? number(values.threshold) : null,
        expected_version: intent.version,
      }),
    reset: (intent) => api.delete(`/policy/thresholds/${intent.intent}?expected_version=${intent.version}`),
  });
  byId("threshold-form")?.elements.own.addEventListener("change", (event) => {
    byId("threshold-form").elements.threshold.disabled = !event.target.checked;
  });

  function row(intent) {
    const open = () => {
      if (!intentEditor || !intent.editable) return;
      intentEditor.show(intent);
      select(rowNode);
    };
    const editable = intentEditor && intent.editable;
    const rowNode = h("tr", { dataset: { intent: intent.intent }, tabindex: editable ? "0" : null, class: editable ? "editable" : null, onclick: open, onkeydown: (event) => event.key === "Enter" && open() },
      h("td", {}, h("div.cell-main", {}, label(intent.intent))),
      h("td", {}, label(intent.category)),
      h("td", {}, meter(intent.auto_reply_confidence)),
      h("td", {}, h("div", {}, SOURCES[intent.source] || intent.source, " ", provenanceCell(intent)), h("div.cell-sub", {}, intent.editable ? provenance(intent) : "Safety messages always go to a person")));
    return rowNode;
  }

  async function load() {
    try {
      policy = await api.get("/policy/thresholds");
      byId("threshold-summary").replaceChildren(
        ...[
          ["Auto-reply from", policy.auto_reply_confidence_threshold.toFixed(2), policy.general.overridden ? provenance(policy.general) : "calibrated intent confidence, unless an intent sets its own"],
          ["Low confidence below", policy.low_confidence_threshold.toFixed(2), "a person sees the top candidate intents"],
          ["Strongly negative at", policy.strongly_negative_sentiment.toFixed(2), "sentiment at or below: never answered automatically"],
          ["SLA at risk with", `${Math.round(policy.sla_at_risk_fraction * 100)}%`, "of the allowed time left"],
        ].map(([name, value, hint]) => h("div.tile.small", {}, h("span.tile-label", {}, name), h("span.tile-value", {}, value), h("span.tile-hint", {}, hint))),
      );
      if (!generalEditor) byId("thresholds-where").textContent = `Admins can change the auto-reply thresholds here; the others are set in ${policy.configured_in}.`;
      generalEditor?.show(policy.general);
      fillTable(body, policy.intents || [], row, "No intents.");
      const open = intentEditor?.current();
      const fresh = open && policy.intents.find((intent) => intent.intent === open.intent);
      if (fresh) {
        intentEditor.show(fresh);
        body.querySelector(`tr[data-intent="${fresh.intent}"]`)?.setAttribute("aria-selected", "true");
      }
    } catch (error) {
      tableError(body, error);
    }
  }
  generalEditor?.onReload(load);
  intentEditor?.onReload(load);
  await load();
}
