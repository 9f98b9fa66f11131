// Users and roles: the list, a new user, a role change and deactivation (admins; supervisors
// see the list). Nobody changes their own role or access: the API refuses it, and the page
// offers no control on one's own row. The Routing column shows each ticket worker's presence,
// skills and load (GET /agents/routing); admins edit skills and capacity in a dialog.

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

let routing = new Map();

function skillsSummary(agent) {
  const skills = agent.skills;
  const parts = [];
  parts.push(skills.intents.length ? skills.intents.join(", ") : "any intent");
  parts.push(skills.languages.length ? skills.languages.join(", ") : "any language");
  if (skills.channels.length) parts.push(skills.channels.join(", "));
  if (skills.safety) parts.push("safety");
  return parts.join(" · ");
}

function routingCell(user) {
  const agent = routing.get(user.id);
  if (!agent) return h("span.muted", {}, "—");
  const presence = agent.present ? pill("Available", "status-resolved") : pill(agent.status === "available" ? "Offline" : "Away");
  const edit = can("manage_users")
    ? h("button.button.ghost.small", { type: "button", dataset: { routingUser: user.id }, onclick: () => editRouting(user, agent) }, "Edit routing")
    : null;
  return h("div", {},
    h("div.cell-main", {}, presence, " ", `${agent.open_tickets}/${agent.skills.max_open_tickets} open · ${agent.open_chats}/${agent.skills.max_chats} chats`),
    h("div.cell-sub", {}, skillsSummary(agent)),
    edit);
}

function editRouting(user, agent) {
  const dialog = document.getElementById("routing-dialog");
  const form = document.getElementById("routing-form");
  document.getElementById("routing-title").textContent = `Routing for ${user.name}`;
  for (const box of form.querySelectorAll("input[name=intents]")) box.checked = agent.skills.intents.includes(box.value);
  for (const box of form.querySelectorAll("input[name=channels]")) box.checked = agent.skills.channels.includes(box.value);
  form.elements.languages.value = agent.skills.languages.join(", ");
  form.elements.safety.checked = agent.skills.safety;
  form.elements.max_open_tickets.value = String(agent.skills.max_open_tickets);
  form.elements.max_chats.value = String(agent.skills.max_chats);
  form.dataset.userId = String(user.id);
  form.dataset.userName = user.name;
  showError(document.getElementById("routing-error"), null);
  dialog.showModal();
}

async function saveRouting(event) {
  event.preventDefault();
  const form = event.target;
  const values = formValues(form);
  const body = {
    intents: values.intents,
    channels: values.channels,
    languages: values.languages.split(/[\s,]+/).filter(Boolean),
    safety: values.safety.length > 0,
    max_open_tickets: Number(values.max_open_tickets),
    max_chats: Number(values.max_chats),
  };
  try {
    await api.put(`/users/${form.dataset.userId}/routing`, body);
    document.getElementById("routing-dialog").close();
    toast(`Routing saved for ${form.dataset.userName}`);
    await load();
  } catch (error) {
    showError(document.getElementById("routing-error"), error);
  }
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
    h("td", {}, routingCell(user)),
    h("td.actions-col", {}, action));
}

async function load() {
  const body = document.getElementById("users");
  try {
    const [answer, agents] = await Promise.all([api.get("/users"), api.get("/agents/routing").catch(() => ({ agents: [] }))]);
    routing = new Map((agents.agents || []).map((agent) => [agent.user_id, agent]));
    fillTable(body, answer.users || [], row, "No users yet.");
  } catch (error) {
    tableError(body, error);
  }
}

export async function init() {
  document.getElementById("routing-form")?.addEventListener("submit", saveRouting);
  document.getElementById("routing-cancel")?.addEventListener("click", () => document.getElementById("routing-dialog").close());
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
