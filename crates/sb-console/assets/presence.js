// The agent's presence toggle in the top bar: available (the router may assign tickets while
// this console is open) or away. While available, the page renews the heartbeat every
// `heartbeat_seconds` the API names; closing every console page lets it expire, and the
// server gives unstarted tickets back to the queue.

import { api } from "./api.js";
import { toast } from "./dom.js";

const button = document.getElementById("presence");
let timer = null;

function show(agent, heartbeatSeconds) {
  const available = agent.status === "available";
  button.hidden = false;
  button.dataset.state = available ? "available" : "away";
  button.setAttribute("aria-pressed", available ? "true" : "false");
  button.querySelector(".label").textContent = available ? "Available" : "Away";
  button.title = available
    ? `Taking routed tickets (${agent.open_tickets} of ${agent.skills.max_open_tickets} open). Click to go away.`
    : "Not taking routed tickets. Click to become available.";
  clearInterval(timer);
  timer = null;
  if (available) {
    timer = setInterval(beat, Math.max(1, heartbeatSeconds) * 1000);
  }
}

async function beat() {
  try {
    const answer = await api.post("/me/presence/heartbeat");
    show(answer.agent, answer.heartbeat_seconds);
  } catch {
    // A missed beat is harmless: three fit in the presence's time to live.
  }
}

async function toggle() {
  const next = button.dataset.state === "available" ? "away" : "available";
  button.disabled = true;
  try {
    const answer = await api.put("/me/presence", { status: next });
    show(answer.agent, answer.heartbeat_seconds);
    toast(next === "available" ? "You are available: new tickets are routed to you" : "You are away: your unstarted tickets went back to the queue");
  } catch (error) {
    toast(`Could not change your presence: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

if (button) {
  button.addEventListener("click", toggle);
  api.get("/me/presence").then(async (answer) => {
    show(answer.agent, answer.heartbeat_seconds);
    // A reload of an available console renews the heartbeat at once.
    if (answer.agent.status === "available") await beat();
  }).catch(() => {});
}
