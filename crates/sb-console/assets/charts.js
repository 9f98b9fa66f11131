// Small SVG charts for the dashboard, written for this project: columns (optionally with a
// forecast line and interval bands) and horizontal bars. Each chart has axes with round ticks,
// labels with units, a <title> on every mark for hover, and redraws itself to its card's width
// when the window is resized. Colours come from CSS classes (console.css), never inline styles:
// the page's Content-Security-Policy refuses style attributes.

const SVG = "http://www.w3.org/2000/svg";

/// s("rect", {x: 1, class: "bar"}, child…): an SVG element; strings become text nodes.
function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const tip = (text) => s("title", {}, text);

/// A round upper bound and step for an axis from 0 to `max` with about `n_ticks` ticks.
export function niceScale(max, n_ticks = 4) {
  if (!(max > 0)) return { max: 1, step: 0.25 };
  const rough = max / n_ticks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough);
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

// Charts to redraw on resize: container → draw function.
const drawn = new Map();
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const [container, draw] of drawn) {
      if (container.isConnected) draw();
      else drawn.delete(container);
    }
  }, 150);
});

function mount(container, draw) {
  drawn.set(container, draw);
  draw();
}

function widthOf(container) {
  return Math.max(240, Math.floor(container.clientWidth || container.getBoundingClientRect().width || 480));
}

/// Columns over `labels`, from 0 up.
/// spec: { labels, series: [{name, values, className}], stacked, line: {name, values, className},
///         bands: [{name, lo, hi, className}], yFormat, yMax, yStep, height, labelEvery, highlight }
/// `values` may hold null (nothing drawn). `highlight` is an index whose column is marked
/// (the current hour).
export function columns(container, spec) {
  mount(container, () => drawColumns(container, spec));
}

function drawColumns(container, spec) {
  const width = widthOf(container);
  const height = spec.height || 220;
  const margin = { top: 12, right: 12, bottom: 28, left: 44 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const n = spec.labels.length;
  const series = spec.series || [];
  const stackTotals = spec.labels.map((_, idx) => series.reduce((sum, one) => sum + (one.values[idx] || 0), 0));
  const candidates = [
    ...(spec.stacked ? stackTotals : series.flatMap((one) => one.values)),
    ...(spec.line ? spec.line.values : []),
    ...(spec.bands || []).flatMap((band) => band.hi),
  ].filter((value) => typeof value === "number" && Number.isFinite(value));
  const scale = spec.yMax ? { max: spec.yMax, step: spec.yStep || spec.yMax / 4 } : niceScale(Math.max(0, ...candidates));
  const y = (value) => margin.top + plotHeight - (Math.max(0, value) / scale.max) * plotHeight;
  const slot = plotWidth / Math.max(1, n);
  const x = (idx) => margin.left + idx * slot;
  const format = spec.yFormat || ((value) => String(value));

  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart-svg" });
  // Grid and y axis.
  const axis = s("g", { class: "axis" });
  for (let value = 0; value <= scale.max + 1e-9; value += scale.step) {
    const at = y(value);
    axis.append(s("line", { x1: margin.left, x2: width - margin.right, y1: at, y2: at, class: value === 0 ? "baseline" : "grid" }));
    axis.append(s("text", { x: margin.left - 6, y: at + 3.5, class: "tick", "text-anchor": "end" }, format(value)));
  }
  // X labels.
  const every = spec.labelEvery || Math.max(1, Math.ceil(n / Math.floor(plotWidth / 44)));
  spec.labels.forEach((text, idx) => {
    if (idx % every !== 0) return;
    axis.append(s("text", { x: x(idx) + slot / 2, y: height - margin.bottom + 16, class: "tick", "text-anchor": "middle" }, text));
  });
  svg.append(axis);
  if (typeof spec.highlight === "number" && spec.highlight >= 0 && spec.highlight < n) {
    svg.append(s("rect", { x: x(spec.highlight), y: margin.top, width: slot, height: plotHeight, class: "now-column" }));
  }
  // Interval bands, widest first, as areas through the column centres.
  for (const band of spec.bands || []) {
    const points = [];
    const lower = [];
    band.hi.forEach((hi, idx) => {
      const lo = band.lo[idx];
      if (typeof hi !== "number" || typeof lo !== "number") return;
      points.push(`${x(idx) + slot / 2},${y(hi)}`);
      lower.unshift(`${x(idx) + slot / 2},${y(lo)}`);
    });
    if (points.length > 1) svg.append(s("polygon", { points: [...points, ...lower].join(" "), class: `band ${band.className || ""}` }, tip(band.name)));
  }
  // Columns.
  const barWidth = Math.max(2, Math.min(36, slot * (spec.stacked || series.length === 1 ? 0.62 : 0.8 / series.length)));
  spec.labels.forEach((label, idx) => {
    let stackTop = 0;
    series.forEach((one, seriesIdx) => {
      const value = one.values[idx];
      if (typeof value !== "number") return;
      const left = spec.stacked || series.length === 1 ? x(idx) + (slot - barWidth) / 2 : x(idx) + slot * 0.1 + seriesIdx * barWidth;
      const bottom = spec.stacked ? stackTop : 0;
      const top = bottom + value;
      stackTop = top;
      const barHeight = Math.max(value > 0 ? 1 : 0, y(bottom) - y(top));
      const title = (one.tips && one.tips[idx]) || `${label}: ${format(value)} ${one.name.toLowerCase()}`;
      svg.append(s("rect", { x: left, y: y(bottom) - barHeight, width: barWidth, height: barHeight, rx: Math.min(3, barWidth / 4), class: `bar ${one.className || ""}${idx === spec.highlight ? " partial" : ""}` }, tip(title)));
    });
  });
  // Forecast line and its points.
  if (spec.line) {
    let path = "";
    spec.line.values.forEach((value, idx) => {
      if (typeof value !== "number") return;
      path += `${path ? "L" : "M"}${(x(idx) + slot / 2).toFixed(1)},${y(value).toFixed(1)}`;
    });
    if (path) svg.append(s("path", { d: path, class: `line ${spec.line.className || ""}` }));
    spec.line.values.forEach((value, idx) => {
      if (typeof value !== "number") return;
      svg.append(s("circle", { cx: x(idx) + slot / 2, cy: y(value), r: 2.5, class: `point ${spec.line.className || ""}` }, tip(`${spec.labels[idx]}: ${format(value)} ${spec.line.name.toLowerCase()}`)));
    });
  }
  container.replaceChildren(svg);
}

/// Horizontal bars, one row per item, for long labels (categories, agents, intents).
/// spec: { rows: [{label, values: [..per series], note, title}], series: [{name, className}],
///         stacked, max, format, rowHeight }
export function bars(container, spec) {
  mount(container, () => drawBars(container, spec));
}

function drawBars(container, spec) {
  const width = widthOf(container);
  const rowHeight = spec.rowHeight || 26;
  const labelWidth = Math.min(150, Math.round(width * 0.34));
  const noteWidth = spec.noteWidth || 92;
  const margin = { top: 4, right: 8, bottom: 22 };
  const plotLeft = labelWidth + 8;
  const plotWidth = Math.max(40, width - plotLeft - noteWidth - margin.right);
  const height = margin.top + spec.rows.length * rowHeight + margin.bottom;
  const series = spec.series;
  const totals = spec.rows.map((row) => (spec.stacked ? row.values.reduce((sum, value) => sum + (value || 0), 0) : Math.max(0, ...row.values.map((value) => value || 0))));
  const scale = spec.max ? { max: spec.max, step: spec.step || spec.max / 4 } : niceScale(Math.max(0, ...totals), 3);
  const x = (value) => plotLeft + (Math.max(0, value) / scale.max) * plotWidth;
  const format = spec.format || ((value) => String(value));

  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart-svg" });
  const axis = s("g", { class: "axis" });
  const plotBottom = margin.top + spec.rows.length * rowHeight;
  for (let value = 0; value <= scale.max + 1e-9; value += scale.step) {
    axis.append(s("line", { x1: x(value), x2: x(value), y1: margin.top, y2: plotBottom, class: value === 0 ? "baseline" : "grid" }));
    axis.append(s("text", { x: x(value), y: plotBottom + 14, class: "tick", "text-anchor": "middle" }, format(value)));
  }
  svg.append(axis);
  spec.rows.forEach((row, rowIdx) => {
    const top = margin.top + rowIdx * rowHeight;
    const label = row.label.length > 24 ? `${row.label.slice(0, 23)}…` : row.label;
    svg.append(s("text", { x: labelWidth, y: top + rowHeight / 2 + 4, class: "row-label", "text-anchor": "end" }, label, tip(row.label)));
    const barArea = rowHeight - 8;
    const thickness = spec.stacked || series.length === 1 ? Math.min(14, barArea) : Math.min(9, barArea / series.length);
    let stacked = 0;
    series.forEach((one, seriesIdx) => {
      const value = row.values[seriesIdx];
      if (typeof value !== "number") return;
      const start = spec.stacked ? stacked : 0;
      stacked += value;
      const barTop = spec.stacked || series.length === 1 ? top + (rowHeight - thickness) / 2 : top + (rowHeight - thickness * series.length) / 2 + seriesIdx * thickness;
      svg.append(s("rect", { x: x(start), y: barTop, width: Math.max(value > 0 ? 2 : 0, x(start + value) - x(start)), height: thickness - 1, rx: 2, class: `bar ${one.className || ""}` }, tip(row.title || `${row.label}: ${format(value)} ${one.name.toLowerCase()}`)));
    });
    if (row.note) svg.append(s("text", { x: width - margin.right, y: top + rowHeight / 2 + 4, class: "row-note", "text-anchor": "end" }, row.note));
  });
  container.replaceChildren(svg);
}

/// A legend: [{name, className, kind: "box" | "line" | "band"}].
export function legend(node, items) {
  node.replaceChildren(
    ...items.map((item) => {
      const swatch = s("svg", { width: 18, height: 10, class: "swatch", "aria-hidden": "true" });
      if (item.kind === "line") {
        swatch.append(s("line", { x1: 1, x2: 17, y1: 5, y2: 5, class: `line ${item.className}` }));
        swatch.append(s("circle", { cx: 9, cy: 5, r: 2.5, class: `point ${item.className}` }));
      } else {
        swatch.append(s("rect", { x: 1, y: 0, width: 16, height: 10, rx: 2, class: `${item.kind === "band" ? "band" : "bar"} ${item.className}` }));
      }
      const entry = document.createElement("span");
      entry.className = "legend-item";
      entry.append(swatch, document.createTextNode(item.name));
      return entry;
    }),
  );
}

/// Forgets a chart (its container shows an empty state instead).
export function clearChart(container) {
  drawn.delete(container);
  container.replaceChildren();
}

/// A sentiment sparkline: `points` ([{value (−1…1), label}], oldest first) as a line over a
/// zero baseline in a fixed viewBox that scales to its container's width; every point has a
/// <title> (hover), and the last one is marked. Returns the SVG node (no redraw needed).
export function sparkline(points, { width = 240, height = 44, label = "Trend" } = {}) {
  const pad = 5;
  const x = (index) => (points.length < 2 ? width / 2 : pad + (index * (width - 2 * pad)) / (points.length - 1));
  const y = (value) => pad + ((1 - Math.max(-1, Math.min(1, value))) / 2) * (height - 2 * pad);
  const tone = (value) => (value <= -0.25 ? "negative" : value >= 0.25 ? "positive" : "neutral");
  const path = points.map((point, index) => `${index ? "L" : "M"}${x(index).toFixed(1)},${y(point.value).toFixed(1)}`).join(" ");
  return s(
    "svg",
    { class: "sparkline", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label },
    tip(label),
    s("line", { class: "spark-zero", x1: 0, x2: width, y1: y(0), y2: y(0) }),
    points.length > 1 ? s("path", { class: "spark-line", d: path }) : null,
    points.map((point, index) =>
      s("circle", { class: `spark-dot ${tone(point.value)}${index === points.length - 1 ? " last" : ""}`, cx: x(index), cy: y(point.value), r: index === points.length - 1 ? 3.5 : 2.5 }, tip(point.label)),
    ),
  );
}
