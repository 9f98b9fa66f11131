// The admin page: users and API tokens, read from the API (admins only; the page itself is
// refused to other roles by the server).

import "./shell.js";
import { api } from "./api.js";
import { h, clear, label, dateTime } from "./dom.js";
import { connect } from "./live.js";

async function fill(bodyId, path, key, row, emptyText) {
  const body = document.getElementById(bodyId);
  try {
    const answer = await api.get(path);
    const items = Array.isArray(answer) ? answer : answer[key] || [];
    clear(body);
    if (!items.length) body.append(h("tr", {}, h("td.panel-empty", { colspan: "4" }, emptyText)));
    for (const item of items) body.append(row(item));
  } catch (error) {
    clear(body).append(h("tr", {}, h("td.panel-empty", { colspan: "4" }, `Could not load: ${error.message}`)));
  }
}

fill("users", "/users", "users", (user) => h("tr", {}, h("td", {}, user.name), h("td", {}, user.email), h("td", {}, label(user.role)), h("td", {}, user.active ? "Active" : "Disabled")), "No users yet.");
fill("tokens", "/tokens", "tokens", (token) => h("tr", {}, h("td", {}, token.name), h("td.mono", {}, (token.scopes || []).join(", ")), h("td", {}, dateTime(token.created_at)), h("td", {}, token.revoked_at ? "Revoked" : "Active")), "No API tokens yet.");
connect();
