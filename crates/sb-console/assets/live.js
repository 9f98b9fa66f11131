// The live event stream (/ws): connects, hands each event to the listeners, reconnects with
// growing pauses, and resumes after the last event id it handled. When the server no longer
// holds those events (or restarted) it sends "reset", and listeners reload what they show.

import { setLiveState } from "./shell.js";

const listeners = new Set();
let lastId = null;
let epoch = null;
let retryDelay = 500;

export function onEvent(listener) {
  listeners.add(listener);
}

function emit(event) {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      console.error("live event listener failed", error);
    }
  }
}

export function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const resume = lastId !== null && epoch ? `?after=${lastId}&epoch=${encodeURIComponent(epoch)}` : "";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws${resume}`);
  socket.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event.type === "hello") {
      retryDelay = 500;
      setLiveState("live");
      if (lastId === null) {
        // A first connection: what changed between the page's first load and this
        // subscription is not replayed, so listeners reload once, as after a reset.
        lastId = event.last_id;
        epoch = event.epoch;
        emit({ type: "reset", last_id: event.last_id });
        return;
      }
      epoch = event.epoch;
      return;
    }
    if (event.type === "reset") {
      if (typeof event.last_id === "number") lastId = event.last_id;
      emit(event);
      return;
    }
    // Typing hints are live-only: they carry the last id instead of a new one.
    if (event.type === "typing") {
      emit(event);
      return;
    }
    if (typeof event.id === "number") {
      if (lastId !== null && event.id <= lastId) return;
      lastId = event.id;
    }
    emit(event);
  });
  socket.addEventListener("close", () => {
    setLiveState("offline");
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  });
}
