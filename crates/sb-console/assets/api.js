// The REST API as the console uses it: JSON in and out, the session cookie sent by the
// browser, the CSRF token on every change, one error type with the API's stable code.

const csrfToken = () => document.body.dataset.csrf || "";

export class ApiError extends Error {
  constructor(status, code, message, problems) {
    super(message);
    this.status = status;
    this.code = code;
    // Every problem the API found, when it lists them (`invalid_policy`).
    this.problems = problems || [];
  }
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    // An expired session sends the person back to the login page (not for the login call
    // itself, whose 401 means a wrong password).
    if (response.status === 401 && path !== "/session") {
      window.location.assign("/console/login");
    }
    const error = payload && payload.error ? payload.error : { code: "http_" + response.status, message: response.statusText };
    throw new ApiError(response.status, error.code, error.message, error.problems);
  }
  return payload;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body === undefined ? {} : body),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  delete: (path) => request("DELETE", path),
};

/// Query string from an object, leaving out empty values.
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
