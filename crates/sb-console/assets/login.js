// The login form: POST /api/v1/session sets the HttpOnly session cookie; the console page
// then renders with the CSRF token.

import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  submit.disabled = true;
  try {
    await api.post("/session", { email: form.email.value.trim(), password: form.password.value });
    const next = new URLSearchParams(window.location.search).get("next");
    window.location.assign(next && next.startsWith("/console") ? next : "/console");
  } catch (failure) {
    error.textContent = failure.status === 401 ? "That email and password do not match an account." : failure.status === 429 ? "Too many attempts. Wait a minute and try again." : `Could not sign in: ${failure.message}`;
    error.hidden = false;
    submit.disabled = false;
    form.password.select();
  }
});
