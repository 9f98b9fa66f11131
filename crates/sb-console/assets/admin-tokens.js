// API tokens: the list, a new token (its secret shown once, with a copy button) and revoking.

import { api } from "./api.js";
import { h, toast, dateTime, relative } from "./dom.js";
import { fillTable, tableError, formValues, showError, pill } from "./admin-common.js";

function row(token) {
  const revoke = token.revoked_at
    ? null
    : h("button.button.ghost.small.danger", {
        type: "button",
        onclick: async () => {
          if (!confirm(`Revoke “${token.name}”? Integrations using it stop working at once.`)) return;
          try {
            await api.delete(`/tokens/${token.id}`);
            toast(`${token.name} revoked`);
          } catch (error) {
            toast(`Could not revoke: ${error.message}`, "error");
          }
          await load();
        },
      }, "Revoke");
  return h("tr", { dataset: { tokenId: token.id }, class: token.revoked_at ? "inactive" : null },
    h("td", {}, h("div.cell-main", {}, token.name)),
    h("td.mono", {}, `${token.prefix}…`),
    h("td", {}, h("div.chips", {}, (token.scopes || []).map((scope) => h("span.chip", {}, scope)))),
    h("td", {}, dateTime(token.created_at)),
    h("td", {}, token.last_used_at ? relative(token.last_used_at) : "never"),
    h("td", {}, token.revoked_at ? pill(`Revoked ${dateTime(token.revoked_at)}`) : pill("Active", "status-resolved")),
    h("td.actions-col", {}, revoke));
}

async function load() {
  const body = document.getElementById("tokens");
  try {
    const answer = await api.get("/tokens");
    fillTable(body, answer.tokens || [], row, "No API tokens yet. Create one for each integration, with only the scopes it needs.");
  } catch (error) {
    tableError(body, error);
  }
}

export async function init() {
  const form = document.getElementById("token-form");
  const secretBox = document.getElementById("token-secret");
  const secretValue = document.getElementById("token-secret-value");
  document.getElementById("token-secret-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secretValue.textContent);
      toast("Secret copied");
    } catch {
      const range = document.createRange();
      range.selectNodeContents(secretValue);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      toast("Secret selected: copy it with Ctrl+C");
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("token-error");
    const values = formValues(form);
    if (!values.name || !values.scopes.length) {
      showError(error, new Error("Give a name and at least one scope."));
      return;
    }
    try {
      const created = await api.post("/tokens", { name: values.name, scopes: values.scopes });
      showError(error, null);
      form.elements.name.value = "";
      secretValue.textContent = created.secret;
      secretBox.hidden = false;
      await load();
    } catch (failure) {
      showError(error, failure);
    }
  });
  await load();
}
