// What every signed-in page has: the log-out button, the live-connection indicator and, for
// those who work tickets, the presence toggle.

import { api } from "./api.js";
import "./presence.js";

export function setLiveState(state) {
  const node = document.getElementById("live-status");
  if (!node) return;
  // Hidden on pages that do not follow live events; shown once one connects.
  node.hidden = false;
  node.dataset.state = state;
  const text = { live: "Live", connecting: "Connecting", offline: "Reconnecting" }[state] || state;
  node.querySelector(".label").textContent = text;
}

document.getElementById("logout")?.addEventListener("click", async () => {
  try {
    await api.delete("/session");
  } finally {
    window.location.assign("/console/login");
  }
});
