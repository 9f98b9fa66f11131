// Reply templates: suggested replies (per intent and language) and canned responses (by
// shortcut). Pick one to edit it beside the list; save creates or replaces it.

import { api, query } from "./api.js";
import { h, toast, label } from "./dom.js";
import { fillTable, tableError, formValues, showError } from "./admin-common.js";

const byId = (id) => document.getElementById(id);
let editing = null; // the template being edited, or null for a new one

function showKindFields(form) {
  const kind = form.elements.kind.value;
  for (const field of form.querySelectorAll("[data-kind]")) field.hidden = field.dataset.kind !== kind;
}

function edit(template) {
  const form = byId("template-form");
  editing = template;
  form.hidden = false;
  byId("template-form-title").textContent = template ? `Edit “${template.name}”` : "New template";
  form.elements.name.value = template?.name || "";
  form.elements.kind.value = template?.kind || "canned";
  form.elements.language.value = template?.language || "en";
  form.elements.intent.value = template?.intent || "";
  form.elements.shortcut.value = template?.shortcut || "";
  form.elements.body.value = template?.body || "";
  byId("template-delete").hidden = !template;
  showError(byId("template-error"), null);
  showKindFields(form);
  for (const selected of document.querySelectorAll("#templates tr[aria-selected]")) selected.removeAttribute("aria-selected");
  if (template) document.querySelector(`#templates tr[data-template-id="${template.id}"]`)?.setAttribute("aria-selected", "true");
  form.elements.name.focus();
}

function row(template) {
  return h("tr", { dataset: { templateId: template.id }, tabindex: "0", onclick: () => edit(template), onkeydown: (event) => event.key === "Enter" && edit(template) },
    h("td", {}, h("div.cell-main", {}, template.name), h("div.cell-sub.clamp", {}, template.body)),
    h("td", {}, template.kind === "canned" ? "Canned" : "Suggested"),
    h("td", {}, template.kind === "canned" ? h("span.mono", {}, template.shortcut || "—") : label(template.intent) || "Any intent"),
    h("td", {}, template.language));
}

async function load() {
  const body = byId("templates");
  try {
    const answer = await api.get(`/templates${query({ kind: byId("template-kind").value })}`);
    const templates = answer.templates || [];
    fillTable(body, templates, row, "No templates yet. Suggested replies are offered to agents per intent; canned responses by their shortcut.");
    if (editing) document.querySelector(`#templates tr[data-template-id="${editing.id}"]`)?.setAttribute("aria-selected", "true");
    return templates;
  } catch (error) {
    tableError(body, error);
    return [];
  }
}

export async function init() {
  const form = byId("template-form");
  byId("template-kind").addEventListener("change", load);
  byId("template-new").addEventListener("click", () => edit(null));
  byId("template-cancel").addEventListener("click", () => {
    form.hidden = true;
    editing = null;
    for (const selected of document.querySelectorAll("#templates tr[aria-selected]")) selected.removeAttribute("aria-selected");
  });
  form.elements.kind.addEventListener("change", () => showKindFields(form));
  byId("template-delete").addEventListener("click", async () => {
    if (!editing || !confirm(`Delete “${editing.name}”?`)) return;
    try {
      await api.delete(`/templates/${editing.id}`);
      toast("Template deleted");
      form.hidden = true;
      editing = null;
      await load();
    } catch (error) {
      showError(byId("template-error"), error);
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const request = {
      kind: values.kind,
      name: values.name,
      language: values.language || "en",
      body: values.body,
      intent: values.kind === "suggested" ? values.intent || null : null,
      shortcut: values.kind === "canned" ? values.shortcut || null : null,
    };
    try {
      const answer = editing ? await api.put(`/templates/${editing.id}`, request) : await api.post("/templates", request);
      editing = answer.template;
      showError(byId("template-error"), null);
      byId("template-form-title").textContent = `Edit “${editing.name}”`;
      byId("template-delete").hidden = false;
      toast("Template saved");
      await load();
    } catch (error) {
      showError(byId("template-error"), error);
    }
  });
  await load();
}
