// Users and roles: the list, a new user, a role change and deactivation (admins; supervisors
// see the list). Nobody changes their own role or access: the API refuses it, and the page
// offers no control on one's own row.

import { api } from "./api.js";
import { h, toast, can, me, dateTime } from "./dom.js";
import { fillTable, tableError, formValues, showError, pill } from "./admin-common.js";

const ROLES = ["admin", "supervisor", "agent", "compliance", "viewer"];
const ROLE_NAMES = { admin: "Admin", supervisor: "Supervisor", agent: "Agent", compliance: "Compliance", viewer: "Viewer" };

async function change(user, body, done) {
  try {
    await api.patch(`/users/${user.id}`, body);
    toast(done);
  } catch (error) {
    toast(`Could not change ${user.name}: ${error.message}`, "error");
  }
  await load();
}

function row(user) {
  const editable = can("manage_users") && user.id !== me();
  const role = editable
    ? h("select.inline-select", { "aria-label": `Role of ${user.name}`, dataset: { userId: user.id }, onchange: (event) => change(user, { role: event.target.value }, `${user.name} is now ${ROLE_NAMES[event.target.value]}`) },
        ROLES.map((value) => h("option", { value, selected: value === user.role }, ROLE_NAMES[value])))
    : ROLE_NAMES[user.role] || user.role;
  const action = editable
    ? user.active
      ? h("button.button.ghost.small.danger", { type: "button", onclick: () => confirm(`Deactivate ${user.name}? They are signed out now and cannot sign in.`) && change(user, { active: false }, `${user.name} deactivated`) }, "Deactivate")
      : h("button.button.ghost.small", { type: "button", onclick: () => change(user, { active: true }, `${user.name} can sign in again`) }, "Reactivate")
    : user.id === me()
      ? h("span.muted", {}, "you")
      : null;
  return h("tr", { dataset: { userId: user.id }, class: user.active ? null : "inactive" },
    h("td", {}, h("div.cell-main", {}, user.name), h("div.cell-sub", {}, `since ${dateTime(user.created_at)}`)),
    h("td", {}, user.email),
    h("td", {}, role),
    h("td", {}, user.active ? pill("Active", "status-resolved") : pill("Deactivated")),
    h("td.actions-col", {}, action));
}

async function load() {
  const body = document.getElementById("users");
  try {
    const answer = await api.get("/users");
    fillTable(body, answer.users || [], row, "No users yet.");
  } catch (error) {
    tableError(body, error);
  }
}

export async function init() {
  const form = document.getElementById("user-form");
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("user-error");
    const values = formValues(form);
    if (!values.name || !values.email || values.password.length < 10) {
      showError(error, new Error("Give a name, an email and a password of at least 10 characters."));
      return;
    }
    try {
      await api.post("/users", values);
      showError(error, null);
      form.reset();
      toast(`${values.name} can now sign in`);
      await load();
    } catch (failure) {
      showError(error, failure);
    }
  });
  await load();
}
