// What the admin sections share: filling a table with an empty state, reading a form, showing
// an API error next to the form that caused it.

import { h, clear } from "./dom.js";

/// Replaces the rows of `body` with `row(item)` for each item, or one row saying `emptyText`.
export function fillTable(body, items, row, emptyText) {
  const columns = body.closest("table")?.querySelectorAll("thead th").length || 1;
  clear(body);
  if (!items.length) {
    body.append(h("tr.empty-row", {}, h("td.panel-empty", { colspan: String(columns) }, emptyText)));
    return;
  }
  for (const item of items) body.append(row(item));
}

/// The table says it could not load, with the API's message.
export function tableError(body, error) {
  fillTable(body, [], () => null, `Could not load: ${error.message}`);
}

/// A form's fields as an object of trimmed strings (checkbox groups as arrays of the checked).
export function formValues(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.type === "checkbox") {
      values[element.name] = values[element.name] || [];
      if (element.checked) values[element.name].push(element.value);
    } else {
      values[element.name] = element.value.trim();
    }
  }
  return values;
}

export function showError(node, error) {
  if (!error) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  node.hidden = false;
  node.textContent = error.message || String(error);
}

/// A status pill.
export function pill(text, kind) {
  return h(`span.badge${kind ? "." + kind : ""}`, {}, text);
}
