// The decision policy's configuration, read-only: SLA policies (targets and calendars) and the
// auto-reply thresholds per intent, as the running service applies them.

import { api } from "./api.js";
import { h, label } from "./dom.js";
import { fillTable, tableError } from "./admin-common.js";

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

export async function initSla() {
  const body = document.getElementById("sla-policies");
  try {
    const answer = await api.get("/sla/policies");
    fillTable(body, answer.policies || [], (policy) =>
      h("tr", {},
        h("td", {}, h("div.cell-main", {}, policy.name)),
        h("td", {}, applies(policy.matches)),
        h("td.num", {}, policy.first_response),
        h("td.num", {}, policy.resolution),
        h("td", {}, calendar(policy.calendar))),
      "No SLA policies: tickets run without deadlines.");
  } catch (error) {
    tableError(body, error);
  }
}

const SOURCES = { default: "General threshold", intent: "Set for this intent", disabled: "Never (disabled)", safety: "Never (safety)" };

function meter(value) {
  if (value === null || value === undefined) return h("span.muted", {}, "never automatic");
  return h("div.meter", {}, h("div.meter-bar", {}, h("span", { style: { width: `${Math.round(value * 100)}%` } })), h("span.mono", {}, value.toFixed(2)));
}

export async function initThresholds() {
  const body = document.getElementById("thresholds");
  try {
    const policy = await api.get("/policy/thresholds");
    document.getElementById("thresholds-where").textContent = `Read-only here. Change them in ${policy.configured_in}.`;
    document.getElementById("threshold-summary").replaceChildren(
      ...[
        ["Auto-reply from", policy.auto_reply_confidence_threshold.toFixed(2), "calibrated intent confidence, unless an intent sets its own"],
        ["Low confidence below", policy.low_confidence_threshold.toFixed(2), "a person sees the top candidate intents"],
        ["Strongly negative at", policy.strongly_negative_sentiment.toFixed(2), "sentiment at or below: never answered automatically"],
        ["SLA at risk with", `${Math.round(policy.sla_at_risk_fraction * 100)}%`, "of the allowed time left"],
      ].map(([name, value, hint]) => h("div.tile.small", {}, h("span.tile-label", {}, name), h("span.tile-value", {}, value), h("span.tile-hint", {}, hint))),
    );
    fillTable(body, policy.intents || [], (intent) =>
      h("tr", { dataset: { intent: intent.intent } },
        h("td", {}, h("div.cell-main", {}, label(intent.intent))),
        h("td", {}, label(intent.category)),
        h("td", {}, meter(intent.auto_reply_confidence)),
        h("td", {}, SOURCES[intent.source] || intent.source)),
      "No intents.");
  } catch (error) {
    tableError(body, error);
  }
}
