// Handing a ticket on from the ticket view: the transfer dialog (another agent, another queue,
// an optional note; POST /tickets/{id}/transfer) and the merge dialog (pick the ticket this one
// folds into — the assist panel's duplicates flagged for merging and the customer's other open
// tickets are offered —, confirm, then POST /tickets/{id}/merge).
//
// Both are <dialog>s appended to <body> once, so a live refresh of the ticket view (which
// rebuilds it) never wipes what the agent is choosing. Safety wins: a ticket in the safety
// queue is offered only the safety queue (the API refuses the rest anyway).

import { api, ApiError } from "./api.js";
import { h, clear, label, percent, relative, toast, me } from "./dom.js";

let agentsLoaded = null;

/// The people a ticket can go to, read once per page.
function agents() {
  agentsLoaded ??= api.get("/agents").then((answer) => answer.agents).catch((error) => {
    agentsLoaded = null;
    throw error;
  });
  return agentsLoaded;
}

function dialog(id, title) {
  let node = document.getElementById(id);
  if (!node) {
    node = h(`dialog.dialog.handoff#${id}`, { "aria-labelledby": `${id}-title` });
    document.body.append(node);
  }
  clear(node).append(h(`h2#${id}-title`, {}, title));
  return node;
}

// ---- transfer ----

/// Opens the transfer dialog for `ticket`; `done(ticket)` runs after a transfer.
export async function openTransfer(ticket, done) {
  const node = dialog("transfer-dialog", `Transfer ticket #${ticket.id}`);
  const safety = ticket.queue === "safety";
  const agentSelect = h("select#transfer-agent", { name: "assignee" }, h("option", { value: "" }, "Nobody: back to the queue"));
  const queueSelect = h(
    "select#transfer-queue",
    { name: "queue" },
    h("option", { value: "human", disabled: safety }, "Human queue"),
    h("option", { value: "safety" }, "Safety queue"),
  );
  queueSelect.value = safety ? "safety" : "human";
  const note = h("textarea#transfer-note", { name: "note", rows: "3", maxlength: "20000", placeholder: "What the next person should know (kept as an internal note)" });
  const error = h("p.form-error#transfer-error", { role: "alert", hidden: true });
  const submit = h("button.button.primary#transfer-submit", { type: "submit" }, "Transfer");
  const form = h(
    "form.stack",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { queue: queueSelect.value };
        if (agentSelect.value) body.assignee_id = Number(agentSelect.value);
        if (note.value.trim()) body.note = note.value.trim();
        submit.disabled = true;
        error.hidden = true;
        try {
          const answer = await api.post(`/tickets/${ticket.id}/transfer`, body);
          node.close();
          const who = agentSelect.value ? agentSelect.selectedOptions[0].textContent : "nobody";
          toast(`Transferred to ${queueSelect.selectedOptions[0].textContent.toLowerCase()}, ${who === "nobody" ? "unassigned" : who}`);
          await done(answer.ticket);
        } catch (failure) {
          error.textContent = failure instanceof ApiError ? failure.message : "The transfer failed";
          error.hidden = false;
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("label.field", {}, h("span", {}, "Agent"), agentSelect),
    h("label.field", {}, h("span", {}, "Queue"), queueSelect),
    safety ? h("p.muted.handoff-hint", {}, "Safety tickets stay in the safety queue; they can go to another agent.") : null,
    h("label.field", {}, h("span", {}, "Note (optional)"), note),
    error,
    h("div.dialog-actions", {}, h("button.button.ghost", { type: "button", onclick: () => node.close() }, "Cancel"), submit),
  );
  node.append(form);
  node.showModal();
  try {
    for (const agent of await agents()) {
      if (agent.id === ticket.assignee_id) continue;
      agentSelect.append(h("option", { value: String(agent.id) }, agent.id === me() ? `${agent.name} (you)` : `${agent.name} · ${label(agent.role)}`));
    }
  } catch {
    agentSelect.after(h("span.meta", {}, "The list of agents could not be loaded; you can still move it to a queue."));
  }
  agentSelect.focus();
}

// ---- merge ----

/// The tickets offered as merge targets: duplicates flagged for merging first, then the other
/// possible duplicates and the customer's other open tickets; each once.
export function mergeCandidates(ticketId, assist, openTickets) {
  const seen = new Set([ticketId]);
  const candidates = [];
  const duplicates = [...((assist && assist.possible_duplicates) || [])].sort((left, right) => Number(right.flagged_for_merge) - Number(left.flagged_for_merge));
  for (const duplicate of duplicates) {
    if (seen.has(duplicate.ticket_id) || ["merged", "closed"].includes(duplicate.status)) continue;
    seen.add(duplicate.ticket_id);
    const why = [duplicate.flagged_for_merge ? "Flagged as a duplicate" : "Possible duplicate", `${percent(duplicate.similarity)} similar`];
    if ((duplicate.shared_order_numbers || []).length) why.push(`same order ${duplicate.shared_order_numbers.join(", ")}`);
    candidates.push({ ticketId: duplicate.ticket_id, title: duplicate.subject, why: why.join(" · "), flagged: duplicate.flagged_for_merge });
  }
  for (const open of openTickets) {
    if (seen.has(open.ticket_id)) continue;
    seen.add(open.ticket_id);
    candidates.push({ ticketId: open.ticket_id, title: open.subject || (open.intent ? label(open.intent) : null), why: `Same customer · ${label(open.status)} · ${relative(open.created_at)}`, flagged: false });
  }
  return candidates;
}

/// Opens the merge dialog for `ticket` (n_messages: how many messages move); `done(target)`
/// runs with the ticket merged into.
export function openMerge(ticket, nMessages, candidates, done) {
  const node = dialog("merge-dialog", `Merge ticket #${ticket.id} into another`);
  const error = h("p.form-error#merge-error", { role: "alert", hidden: true });
  const other = h("input#merge-other", { type: "number", min: "1", inputmode: "numeric", placeholder: "Ticket number", "aria-label": "Another ticket number" });
  const choices = candidates.map((candidate, index) =>
    h(
      "label.merge-choice",
      { dataset: { ticketId: String(candidate.ticketId) } },
      h("input", { type: "radio", name: "target", value: String(candidate.ticketId), checked: index === 0 }),
      h("span.merge-choice-text", {}, h("strong", {}, candidate.title ? `#${candidate.ticketId} · ${candidate.title}` : `Ticket #${candidate.ticketId}`), h(`span.meta${candidate.flagged ? ".flagged" : ""}`, {}, candidate.why)),
    ),
  );
  const review = h("button.button.primary#merge-review", { type: "submit" }, "Review merge");
  const pick = h(
    "form.stack#merge-pick",
    {
      onsubmit: (event) => {
        event.preventDefault();
        const chosen = other.value.trim() ? Number(other.value) : Number((pick.querySelector("input[name=target]:checked") || {}).value);
        if (!chosen || chosen === ticket.id) {
          error.textContent = chosen === ticket.id ? "A ticket cannot be merged into itself." : "Pick a ticket to merge into.";
          error.hidden = false;
          return;
        }
        confirm(chosen);
      },
    },
    choices.length ? h("div.merge-choices", { role: "radiogroup", "aria-label": "Merge into" }, choices) : h("p.panel-empty", {}, "No duplicates or other open tickets of this customer: give a ticket number."),
    h("label.field", {}, h("span", {}, choices.length ? "Or another ticket" : "Ticket"), other),
    error,
    h("div.dialog-actions", {}, h("button.button.ghost", { type: "button", onclick: () => node.close() }, "Cancel"), review),
  );
  other.addEventListener("input", () => {
    if (other.value.trim()) for (const radio of pick.querySelectorAll("input[name=target]")) radio.checked = false;
  });

  function confirm(targetId) {
    const go = h("button.button.danger#merge-confirm", { type: "button" }, `Merge into #${targetId}`);
    const failed = h("p.form-error", { role: "alert", hidden: true });
    const sure = h(
      "div.stack#merge-confirmation",
      {},
      h("p", {}, `Ticket #${ticket.id} and its ${nMessages} message${nMessages === 1 ? "" : "s"} move into ticket #${targetId}. Ticket #${ticket.id} is then marked merged and takes no more actions; this cannot be undone.`),
      failed,
      h("div.dialog-actions", {}, h("button.button.ghost#merge-back", { type: "button", onclick: () => sure.replaceWith(pick) }, "Back"), go),
    );
    go.addEventListener("click", async () => {
      go.disabled = true;
      failed.hidden = true;
      try {
        const answer = await api.post(`/tickets/${ticket.id}/merge`, { into_ticket_id: targetId });
        node.close();
        toast(`Merged #${ticket.id} into #${targetId}`);
        await done(answer.ticket);
      } catch (failure) {
        failed.textContent = failure instanceof ApiError ? failure.message : "The merge failed";
        failed.hidden = false;
        go.disabled = false;
      }
    });
    pick.replaceWith(sure);
    go.focus();
  }

  node.append(pick);
  node.showModal();
  (pick.querySelector("input[name=target]") || other).focus();
}
