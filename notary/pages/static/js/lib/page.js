// What every page's script shares: its messages (translated on the server), its language,
// calls to the API with the token kept in this tab's sessionStorage, and saving a file.

// Data the server embeds in a page: JSON in an inert <template> (never a <script> element, so
// the strict CSP has nothing inline to judge), its <, > and & escaped by the server.
export function embedded(element) {
  return JSON.parse(element.content.textContent);
}

const messages = embedded(document.getElementById("messages"));

export function say(key, fallback = "") {
  return messages[key] || fallback || key;
}

// The explicit language choice (?lang=) is carried on links the scripts make, as on the server's.
export function withLang(path) {
  const lang = document.documentElement.dataset.lang;
  if (!lang) return path;
  return path + (path.includes("?") ? "&" : "?") + "lang=" + encodeURIComponent(lang);
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  // What happened and what to do, in the page's language.
  get words() {
    return say(`error.${this.code}`, this.message);
  }
}

const TOKEN_PREFIX = "notary.token.";

export const tokens = {
  get(kind) {
    return sessionStorage.getItem(TOKEN_PREFIX + kind);
  },
  set(kind, token, expiresAt) {
    sessionStorage.setItem(TOKEN_PREFIX + kind, token);
    if (expiresAt) sessionStorage.setItem(TOKEN_PREFIX + kind + ".expires", expiresAt);
  },
  forget(kind) {
    sessionStorage.removeItem(TOKEN_PREFIX + kind);
    sessionStorage.removeItem(TOKEN_PREFIX + kind + ".expires");
  },
};

// Calls /api/v1 and answers the parsed JSON, the raw Response (raw: true), or throws ApiError.
export async function api(path, { method = "GET", token = null, json = undefined, body = undefined, headers = {}, raw = false } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (token) sent.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path.startsWith("/") ? path : `/api/v1/${path}`, { method, headers: sent, body, cache: "no-store", credentials: "omit" });
  } catch (error) {
    throw new ApiError(0, "network", String(error));
  }
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = response.statusText;
    let details;
    try {
      const answer = await response.json();
      code = answer.error.code;
      message = answer.error.message;
      details = answer.error.details;
    } catch (ignored) {
      if (response.status >= 500) code = "internal_error";
    }
    throw new ApiError(response.status, code, message, details);
  }
  if (raw) return response;
  return response.json();
}

export function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export function show(element, text, kind = "") {
  element.textContent = text;
  element.className = `message ${kind}`.trim();
  element.hidden = !text;
}
