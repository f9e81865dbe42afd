// /me: log in with a key, list every contract in the key holder's name, download, log out.
import { api, ApiError, say, saveFile, show, tokens } from "./lib/page.js";
import { keyPanel } from "./lib/key-panel.js";
import { remember } from "./lib/current-key.js";

const message = document.getElementById("me-message");
const loginSection = document.getElementById("login");
const mine = document.getElementById("mine");
const list = document.getElementById("contracts");

function fail(error) {
  show(message, error instanceof ApiError ? error.words : say("error.network"));
}

async function loadContracts(cursor = "") {
  const token = tokens.get("party");
  if (!token) return;
  const query = new URLSearchParams({ lang: document.documentElement.lang });
  if (cursor) query.set("cursor", cursor);
  const response = await fetch(`/me/contracts?${query}`, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit" });
  if (response.status === 401) {
    tokens.forget("party");
    mine.hidden = true;
    loginSection.hidden = false;
    show(message, say("error.unauthenticated"));
    return;
  }
  const html = await response.text();
  if (cursor) list.insertAdjacentHTML("beforeend", html);
  else list.innerHTML = html;
  loginSection.hidden = true;
  mine.hidden = false;
  list.dataset.ready = "yes";
  document.dispatchEvent(new CustomEvent("notary:contracts-shown"));
}

list.addEventListener("click", async (event) => {
  const more = event.target.closest("[data-more]");
  if (more) {
    more.remove();
    await loadContracts(more.dataset.more);
    return;
  }
  const button = event.target.closest("[data-download]");
  if (!button) return;
  const card = button.closest("[data-contract]");
  const id = card.dataset.contract;
  const what = button.dataset.download;
  button.disabled = true;
  try {
    const response = await api(`contracts/${encodeURIComponent(id)}/${what}`, { token: tokens.get("party"), raw: true, headers: { Accept: "*/*" } });
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || `${id}-${what}`;
    saveFile(await response.blob(), name);
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
});

document.getElementById("logout").addEventListener("click", () => {
  tokens.forget("party");
  sessionStorage.removeItem("notary.key.fingerprint");
  list.replaceChildren();
  mine.hidden = true;
  loginSection.hidden = false;
  show(message, say("logged_out"), "ok");
});

keyPanel({
  onKey: async (key) => {
    remember(key);
    show(message, "");
    await loadContracts();
    document.dispatchEvent(new CustomEvent("notary:logged-in"));
  },
  onError: fail,
});
loadContracts().catch(fail);
