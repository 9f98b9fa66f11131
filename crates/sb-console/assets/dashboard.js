// The supervisor dashboard: live tiles, the alert feed and the charts, from the reports API,
// kept current from /ws without reloading: `metrics_tick` carries the tile figures; ticket,
// message and SLA events re-read the tiles and today's volume at once and the week's charts a
// little later (several events in a burst cost one read); alert events re-read the feed.

import "./shell.js";
import { api, query } from "./api.js";
import { h, clear, label, relative, toast, can } from "./dom.js";
import { connect, onEvent } from "./live.js";
import * as charts from "./charts.js";

const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const byId = (id) => document.getElementById(id);

// ---- formatting ----

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.round((seconds % 3600) / 60);
    return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
  }
  return `${Math.round(seconds / 86400)} d`;
}

const percent = (value) => (value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`);

function money(micros, currency) {
  const amount = micros / 1e6;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD", maximumFractionDigits: amount < 10 ? 2 : 0 }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency || ""}`.trim();
  }
}

/// "2026-03-02T00:00:00+01:00" → "Mon 2" (the period's own local date).
function dayLabel(periodStart) {
  const date = new Date(`${periodStart.slice(0, 10)}T12:00:00Z`);
  return date.toLocaleDateString(undefined, { weekday: "short", day: "numeric", timeZone: "UTC" });
}

// ---- tiles ----

/// Sets a tile's figure, its hint and its state (`ok`, `warn`, `bad` or none); marks a change.
function setTile(id, value, hint, state) {
  const tile = byId(`tile-${id}`);
  if (!tile) return;
  const valueNode = tile.querySelector(".tile-value");
  if (valueNode.dataset.value !== String(value)) {
    if (valueNode.dataset.value !== "") {
      tile.classList.remove("changed");
      void tile.offsetWidth; // restart the animation
      tile.classList.add("changed");
    }
    valueNode.dataset.value = String(value);
    valueNode.textContent = value;
  }
  if (hint !== undefined) tile.querySelector(".tile-hint").textContent = hint;
  if (state) tile.dataset.state = state;
  else delete tile.dataset.state;
}

function showMetrics(metrics) {
  setTile("queue_depth", metrics.queue_depth, `${metrics.n_unassigned} unassigned · ${metrics.n_queue_safety} safety`, metrics.queue_depth > 50 ? "bad" : null);
  const oldest = metrics.oldest_waiting_seconds;
  setTile("oldest_waiting", oldest === null || oldest === undefined ? "None" : duration(oldest), oldest === null || oldest === undefined ? "every ticket has an answer" : "without a first response", oldest > 4 * 3600 ? "bad" : oldest > 3600 ? "warn" : null);
  setTile("sla_at_risk", metrics.n_sla_at_risk, "due within the hour", metrics.n_sla_at_risk > 0 ? "warn" : "ok");
  setTile("sla_breached", metrics.n_sla_breached, "open, past a deadline", metrics.n_sla_breached > 0 ? "bad" : "ok");
  const decisions = metrics.decisions_today;
  setTile("automation_rate", percent(metrics.automation_rate_today), decisions ? `${metrics.auto_replied_today} of ${decisions} decisions today` : "no decisions today yet");
  const sentiment = metrics.avg_sentiment_last_hour;
  if (sentiment === null || sentiment === undefined) {
    setTile("sentiment", "—", "no messages in the last hour");
  } else {
    const word = sentiment <= -0.3 ? "negative" : sentiment >= 0.3 ? "positive" : "neutral";
    const signed = `${sentiment > 0 ? "+" : sentiment < 0 ? "−" : ""}${Math.abs(sentiment).toFixed(2)}`;
    setTile("sentiment", signed, `${word}, last hour · ${metrics.n_negative_last_hour} negative`, word === "negative" ? "warn" : null);
  }
  byId("dashboard-updated").textContent = `Updated ${new Date().toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`;
}

/// The realtime report's row in the shape of a `metrics_tick`.
function metricsFromReport(row) {
  return {
    queue_depth: row.n_queue_human + row.n_queue_safety,
    n_queue_safety: row.n_queue_safety,
    n_unassigned: row.n_unassigned,
    oldest_waiting_seconds: row.oldest_waiting_seconds,
    n_sla_at_risk: row.n_sla_due_within_hour,
    n_sla_breached: row.n_sla_breached,
    decisions_today: row.decisions_today,
    auto_replied_today: row.auto_replied_today,
    automation_rate_today: row.automation_rate_today,
    avg_sentiment_last_hour: row.avg_sentiment_last_hour,
    n_negative_last_hour: row.n_negative_last_hour,
  };
}

async function loadTiles() {
  const report = await api.get(`/reports/realtime${query({ tz: timeZone })}`);
  if (report.rows && report.rows[0]) showMetrics(metricsFromReport(report.rows[0]));
}

/// Average first response of today's tickets, from the category report (weighted by tickets).
async function loadFirstResponse() {
  const today = new Date().toLocaleDateString("en-CA", { timeZone });
  const report = await api.get(`/reports/categories${query({ tz: timeZone, from: today, to: today })}`);
  let weighted = 0;
  let n_tickets = 0;
  for (const row of report.rows || []) {
    if (row.avg_first_response_seconds === null || row.avg_first_response_seconds === undefined) continue;
    weighted += row.avg_first_response_seconds * row.n_tickets;
    n_tickets += row.n_tickets;
  }
  setTile("first_response", n_tickets ? duration(weighted / n_tickets) : "—", n_tickets ? "tickets created today" : "no first response today yet");
}

// ---- charts ----

function chartState(id, emptyText, subtitle) {
  const chart = byId(`chart-${id}`);
  const empty = byId(`empty-${id}`);
  if (subtitle !== undefined) byId(`subtitle-${id}`).textContent = subtitle;
  if (emptyText) {
    charts.clearChart(chart);
    clear(byId(`legend-${id}`));
    empty.textContent = emptyText;
    empty.hidden = false;
    return null;
  }
  empty.hidden = true;
  return chart;
}

async function loadVolume() {
  const today = await api.get(`/reports/forecast${query({ tz: timeZone })}`);
  const hours = today.hours || [];
  const actual = hours.map((hour) => hour.actual);
  const arrived = actual.reduce((sum, value) => sum + (value || 0), 0);
  const hasForecast = hours.some((hour) => typeof hour.forecast === "number");
  const expected = hours.reduce((sum, hour) => sum + (hour.forecast || 0), 0);
  const subtitle = hasForecast
    ? `${arrived} messages so far · ${Math.round(expected)} expected today · forecast from ${today.history_weeks} week${today.history_weeks === 1 ? "" : "s"} of arrivals`
    : `${arrived} messages so far · ${today.missing || "no forecast"}`;
  if (!arrived && !hasForecast) {
    chartState("volume", `No messages today yet, and no forecast: ${today.missing || "too little history"}.`, "inbound messages per hour");
    return;
  }
  const chart = chartState("volume", null, subtitle);
  const labels = hours.map((hour) => new Date(hour.start).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false }));
  const current = actual.reduce((last, value, idx) => (typeof value === "number" ? idx : last), -1);
  charts.columns(chart, {
    labels,
    series: [{ name: "Messages", values: actual, className: "series-actual", tips: hours.map((hour, idx) => (typeof hour.actual === "number" ? `${labels[idx]}: ${hour.actual} messages${typeof hour.forecast === "number" ? `, ${hour.forecast.toFixed(1)} expected` : ""}${idx === current ? " (so far)" : ""}` : null)) }],
    line: hasForecast ? { name: "Expected", values: hours.map((hour) => hour.forecast), className: "series-forecast" } : null,
    bands: hasForecast
      ? [
          { name: "95% interval", lo: hours.map((hour) => hour.lo95), hi: hours.map((hour) => hour.hi95), className: "band-95" },
          { name: "80% interval", lo: hours.map((hour) => hour.lo80), hi: hours.map((hour) => hour.hi80), className: "band-80" },
        ]
      : [],
    highlight: current,
    labelEvery: 3,
    yFormat: (value) => (Number.isInteger(value) ? String(value) : value.toFixed(1)),
    height: 250,
  });
  charts.legend(byId("legend-volume"), [
    { name: "Messages (current hour so far)", className: "series-actual", kind: "box" },
    ...(hasForecast
      ? [
          { name: "Expected", className: "series-forecast", kind: "line" },
          { name: "80% interval", className: "band-80", kind: "band" },
          { name: "95% interval", className: "band-95", kind: "band" },
        ]
      : []),
  ]);
}

const CATEGORY_NAMES = { informational: "Informational", service_action: "Service action", safety_compliance: "Safety & compliance" };

/// SLA compliance rows summed over the window's periods, by key.
function slaByKey(rows) {
  const byKey = new Map();
  for (const row of rows) {
    const key = row.key || "not triaged";
    const entry = byKey.get(key) || { key, met: 0, breached: 0, running: 0, tickets: 0 };
    entry.met += row.first_response_met;
    entry.breached += row.first_response_breached;
    entry.running += row.first_response_running;
    entry.tickets += row.n_tickets;
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

async function loadSla(dimension, id, order, name) {
  const report = await api.get(`/reports/sla${query({ tz: timeZone, by: dimension })}`);
  const entries = slaByKey(report.rows || [])
    .filter((entry) => entry.met + entry.breached > 0)
    .sort((left, right) => order(left.key) - order(right.key));
  if (!entries.length) {
    chartState(id, "No first response due yet in the last 7 days: compliance shows once tickets are answered or overdue.");
    return;
  }
  const met = entries.reduce((sum, entry) => sum + entry.met, 0);
  const decided = entries.reduce((sum, entry) => sum + entry.met + entry.breached, 0);
  const chart = chartState(id, null, `first response met, last 7 days · ${percent(met / decided)} overall`);
  charts.bars(chart, {
    rows: entries.map((entry) => {
      const share = entry.met / (entry.met + entry.breached);
      return { label: name(entry.key), values: [share * 100], note: `${percent(share)} of ${entry.met + entry.breached}`, title: `${name(entry.key)}: ${entry.met} met, ${entry.breached} breached, ${entry.running} running` };
    }),
    series: [{ name: "Met", className: "series-sla" }],
    max: 100,
    step: 25,
    format: (value) => `${value}%`,
  });
  charts.legend(byId(`legend-${id}`), [{ name: "First response within target (answered or overdue tickets)", className: "series-sla", kind: "box" }]);
}

const CATEGORY_ORDER = ["safety_compliance", "service_action", "informational"];
// Bands of the SLA report's priority dimension: `p75_100` … `p0_24`.
const priorityName = (key) => {
  const match = /^p(\d+)_(\d+)$/.exec(key);
  return match ? `Priority ${match[1]}–${match[2]}` : "Not triaged";
};
const priorityOrder = (key) => {
  const match = /^p(\d+)_/.exec(key);
  return match ? -Number(match[1]) : 1;
};

async function loadCategories() {
  const report = await api.get(`/reports/categories${query({ tz: timeZone })}`);
  const byIntent = new Map();
  for (const row of report.rows || []) {
    const key = row.intent || "not triaged";
    const entry = byIntent.get(key) || { key, tickets: 0, auto: 0, breached: 0, firstResponse: 0, answered: 0 };
    entry.tickets += row.n_tickets;
    entry.auto += row.n_auto_replied;
    entry.breached += row.n_sla_breached;
    if (row.avg_first_response_seconds !== null && row.avg_first_response_seconds !== undefined) {
      entry.firstResponse += row.avg_first_response_seconds * row.n_tickets;
      entry.answered += row.n_tickets;
    }
    byIntent.set(key, entry);
  }
  const entries = [...byIntent.values()].sort((left, right) => right.tickets - left.tickets).slice(0, 10);
  if (!entries.length) {
    chartState("categories", "No tickets in the last 7 days yet.");
    return;
  }
  const total = entries.reduce((sum, entry) => sum + entry.tickets, 0);
  const chart = chartState("categories", null, `tickets per intent, last 7 days · ${total} tickets`);
  charts.bars(chart, {
    rows: entries.map((entry) => ({
      label: label(entry.key),
      values: [entry.auto, entry.tickets - entry.auto],
      note: `${entry.tickets} ticket${entry.tickets === 1 ? "" : "s"}`,
      title: `${label(entry.key)}: ${entry.tickets} tickets, ${entry.auto} answered automatically, ${entry.breached} with a breached SLA${entry.answered ? `, first response in ${duration(entry.firstResponse / entry.answered)} on average` : ""}`,
    })),
    series: [
      { name: "Answered automatically", className: "series-auto" },
      { name: "Handled by a person", className: "series-human" },
    ],
    stacked: true,
    noteWidth: 72,
  });
  charts.legend(byId("legend-categories"), [
    { name: "Answered automatically", className: "series-auto", kind: "box" },
    { name: "Handled by a person", className: "series-human", kind: "box" },
  ]);
}

async function loadAgents() {
  const report = await api.get(`/reports/agents${query({ tz: timeZone })}`);
  const byAgent = new Map();
  for (const row of report.rows || []) {
    const entry = byAgent.get(row.user_id) || { name: row.name || `User ${row.user_id}`, resolved: 0, replied: 0, replies: 0, firstResponse: 0, answered: 0 };
    entry.resolved += row.n_resolved;
    entry.replied += row.n_tickets_handled;
    entry.replies += row.n_replies;
    if (row.avg_first_response_seconds !== null && row.avg_first_response_seconds !== undefined) {
      entry.firstResponse += row.avg_first_response_seconds * Math.max(1, row.n_tickets_handled);
      entry.answered += Math.max(1, row.n_tickets_handled);
    }
    byAgent.set(row.user_id, entry);
  }
  const entries = [...byAgent.values()].filter((entry) => entry.resolved + entry.replied > 0).sort((left, right) => right.resolved - left.resolved || right.replied - left.replied).slice(0, 8);
  if (!entries.length) {
    chartState("agents", "No agent has replied to or resolved a ticket in the last 7 days yet.");
    return;
  }
  const chart = chartState("agents", null, "last 7 days");
  charts.bars(chart, {
    rows: entries.map((entry) => ({
      label: entry.name,
      values: [entry.resolved, entry.replied],
      note: entry.answered ? `${duration(entry.firstResponse / entry.answered)} 1st resp.` : "",
      title: `${entry.name}: ${entry.resolved} resolved, ${entry.replied} tickets handled (${entry.replies} replies)`,
    })),
    series: [
      { name: "Resolved", className: "series-resolved" },
      { name: "Handled", className: "series-replied" },
    ],
    noteWidth: 104,
  });
  charts.legend(byId("legend-agents"), [
    { name: "Tickets resolved", className: "series-resolved", kind: "box" },
    { name: "Tickets handled (first reply)", className: "series-replied", kind: "box" },
  ]);
}

/// Rows of a per-day report summed per day, for every day of the report's window (days
/// without rows are there, empty), in order.
function perPeriod(report, add) {
  const byDay = new Map();
  for (let day = new Date(`${report.from.slice(0, 10)}T12:00:00Z`); day.toISOString().slice(0, 10) <= report.to.slice(0, 10); day.setUTCDate(day.getUTCDate() + 1)) {
    byDay.set(day.toISOString().slice(0, 10), {});
  }
  for (const row of report.rows || []) {
    const key = row.period_start.slice(0, 10);
    const entry = byDay.get(key) || {};
    add(entry, row);
    byDay.set(key, entry);
  }
  return [...byDay.entries()].sort(([left], [right]) => (left < right ? -1 : 1));
}

async function loadAutomation() {
  const report = await api.get(`/reports/automation${query({ tz: timeZone, period: "day" })}`);
  const days = perPeriod(report, (entry, row) => {
    entry.decisions = (entry.decisions || 0) + row.n_decisions;
    entry.auto = (entry.auto || 0) + row.n_auto_replied;
    entry.reopened = (entry.reopened || 0) + row.n_reopened;
  });
  const decisions = days.reduce((sum, [, entry]) => sum + (entry.decisions || 0), 0);
  if (!decisions) {
    chartState("automation", "No decisions in the last 7 days yet.");
    return;
  }
  const auto = days.reduce((sum, [, entry]) => sum + (entry.auto || 0), 0);
  const chart = chartState("automation", null, `decisions answered automatically, per day · ${percent(auto / decisions)} of ${decisions} this week`);
  charts.columns(chart, {
    labels: days.map(([period]) => dayLabel(period)),
    series: [
      {
        name: "Answered automatically",
        values: days.map(([, entry]) => (entry.decisions ? (100 * entry.auto) / entry.decisions : null)),
        className: "series-auto",
        tips: days.map(([period, entry]) => (entry.decisions ? `${dayLabel(period)}: ${entry.auto} of ${entry.decisions} decisions answered automatically, ${entry.reopened} reopened after the answer` : `${dayLabel(period)}: no decisions`)),
      },
    ],
    yMax: 100,
    yStep: 25,
    yFormat: (value) => `${value}%`,
    height: 200,
  });
  charts.legend(byId("legend-automation"), [{ name: "Share of decisions answered automatically", className: "series-auto", kind: "box" }]);
}

async function loadCost() {
  const report = await api.get(`/reports/cost${query({ tz: timeZone, period: "day" })}`);
  const days = perPeriod(report, (entry, row) => {
    entry.micros = (entry.micros || 0) + row.cost_micros;
    entry.calls = (entry.calls || 0) + row.n_calls;
    entry.tickets = Math.max(entry.tickets || 0, row.n_tickets);
    if (row.currency) entry.currency = row.currency;
  });
  const calls = days.reduce((sum, [, entry]) => sum + (entry.calls || 0), 0);
  if (!calls) {
    chartState("cost", "No AI cost recorded this week: no LLM provider is configured, so every reply was written locally at no cost.");
    return;
  }
  const currency = (days.find(([, entry]) => entry.currency) || [null, {}])[1].currency;
  const total = days.reduce((sum, [, entry]) => sum + (entry.micros || 0), 0);
  const chart = chartState("cost", null, `LLM spend per day · ${money(total, currency)} this week, ${calls} calls`);
  charts.columns(chart, {
    labels: days.map(([period]) => dayLabel(period)),
    series: [{ name: "Spend", values: days.map(([, entry]) => (entry.micros || 0) / 1e6), className: "series-cost", tips: days.map(([period, entry]) => `${dayLabel(period)}: ${money(entry.micros || 0, currency)} over ${entry.calls || 0} calls`) }],
    yFormat: (value) => money(value * 1e6, currency),
    height: 200,
  });
  charts.legend(byId("legend-cost"), [{ name: `Spend (${currency || "USD"})`, className: "series-cost", kind: "box" }]);
}

// ---- alerts ----

const RULE_NAMES = { sla_breach_rate: "SLA breach rate", queue_depth: "Queue depth", volume_above_forecast: "Volume above forecast", negative_sentiment_spike: "Negative sentiment", vip_ticket: "VIP ticket", system_errors: "System errors", llm_budget: "LLM budget" };

async function loadAlerts() {
  const answer = await api.get(`/alerts${query({ status: "open", limit: 50 })}`);
  const alerts = answer.alerts || [];
  const feed = clear(byId("alert-feed"));
  byId("alerts-count").textContent = alerts.length ? `${alerts.length} open` : "";
  const empty = byId("alerts-empty");
  empty.hidden = alerts.length > 0;
  empty.textContent = "No open alerts. Rules watch SLA breaches, queue depth, volume, sentiment, VIP tickets and errors.";
  for (const alert of alerts) {
    const resolve = can("resolve_alerts")
      ? h("button.button.ghost.small", {
          type: "button",
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            try {
              await api.post(`/alerts/${alert.id}/resolve`);
              toast("Alert resolved");
              loadAlerts();
            } catch (error) {
              toast(`Could not resolve: ${error.message}`, "error");
            }
          },
        }, "Resolve")
      : null;
    feed.append(
      h(`li.alert-item.severity-${alert.severity}`, { dataset: { alertId: alert.id } },
        h("span.alert-dot", { "aria-hidden": "true" }),
        h("div.alert-body", {},
          h("p.alert-title", {}, alert.title),
          h("p.alert-meta", {}, `${label(alert.severity)} · ${RULE_NAMES[alert.rule] || label(alert.rule)} · since ${relative(alert.first_seen_at)}${alert.occurrences > 1 ? ` · seen ${alert.occurrences}×` : ""}`)),
        resolve),
    );
  }
}

// ---- loading and live updates ----

async function guarded(what, load) {
  try {
    await load();
  } catch (error) {
    console.error(what, error);
    const empty = byId(`empty-${what}`);
    if (empty) {
      empty.hidden = false;
      empty.textContent = `Could not load: ${error.message}`;
    }
  }
}

const fast = () => Promise.all([guarded("tiles", loadTiles), guarded("volume", loadVolume), guarded("first-response", loadFirstResponse)]);
const slow = () =>
  Promise.all([
    guarded("sla-category", () => loadSla("category", "sla-category", (key) => CATEGORY_ORDER.indexOf(key), (key) => CATEGORY_NAMES[key] || label(key))),
    guarded("sla-priority", () => loadSla("priority", "sla-priority", priorityOrder, priorityName)),
    guarded("categories", loadCategories),
    guarded("agents", loadAgents),
    guarded("automation", loadAutomation),
    guarded("cost", loadCost),
  ]);

/// Calls `load` once, `delay` ms after the last of a burst of calls (and at most every `delay`).
function debounced(load, delay) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      load();
    }, delay);
  };
}

const refreshFast = debounced(fast, 400);
const refreshSlow = debounced(slow, 4000);

onEvent((event) => {
  switch (event.type) {
    case "metrics_tick":
      showMetrics(event.metrics);
      break;
    case "alert_raised":
    case "alert_resolved":
      guarded("alerts", loadAlerts);
      break;
    case "reset":
      fast();
      slow();
      guarded("alerts", loadAlerts);
      break;
    case "ticket_created":
    case "ticket_updated":
    case "message_added":
    case "sla":
      refreshFast();
      refreshSlow();
      break;
    default:
  }
});

byId("dashboard-context").textContent = `Today, live · times in ${timeZone.replace(/_/g, " ")}`;
await Promise.all([fast(), slow(), guarded("alerts", loadAlerts)]);
connect();
