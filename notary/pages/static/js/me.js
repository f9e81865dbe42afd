// /me: log in with a key, list every contract in the key holder's name, download, log out;
// list the key holder's keys, revoke the key (each party's notary.revoke.v1, signed here) or
// replace it by a new key made here (each party's rotation, POST /me/keys/rotate).
import { api, ApiError, say, saveFile, show, tokens } from "./lib/page.js";
import { keyPanel } from "./lib/key-panel.js";
import { currentKey, remember } from "./lib/current-key.js";
import { canonicalJson } from "./lib/canon.js";
import { adoptNextKey, browserKey, forgetNextKey, login, makeNextKey, markNextKeyUsed, nextKey, rotationBody, sign } from "./lib/keys.js";

const message = document.getElementById("me-message");
const loginSection = document.getElementById("login");
const mine = document.getElementById("mine");
const list = document.getElementById("contracts");
const keysSection = document.getElementById("keys");

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
  if (!cursor) await loadKeys();
}

async function loadKeys() {
  const token = tokens.get("party");
  if (!token) return;
  const query = new URLSearchParams({ lang: document.documentElement.lang });
  const response = await fetch(`/me/keys?${query}`, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit" });
  keysSection.innerHTML = await response.text();
  keysSection.dataset.ready = "yes";
}

function loggedOut(words, kind = "") {
  tokens.forget("party");
  sessionStorage.removeItem("notary.key.fingerprint");
  list.replaceChildren();
  keysSection.replaceChildren();
  mine.hidden = true;
  loginSection.hidden = false;
  show(message, words, kind);
}

// The key that signs the revocation: the one this tab logged in with (or this browser's own,
// when it is that key), never another.
async function revokingKey(fingerprint) {
  const key = await currentKey();
  return key && key.fingerprint === fingerprint ? key : null;
}

keysSection.addEventListener("submit", async (event) => {
  const form = event.target.closest("#revoke");
  if (!form) return;
  event.preventDefault();
  if (!form.querySelector("#revoke-sure").checked) {
    show(message, say("keys.confirm"));
    return;
  }
  const fingerprint = form.dataset.key;
  const key = await revokingKey(fingerprint);
  if (!key) {
    show(message, say("keys.need_key"));
    return;
  }
  const reason = form.querySelector("#revoke-reason").value;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const signatures = {};
    for (const card of keysSection.querySelectorAll("[data-party]")) {
      const payload = canonicalJson({
        key_fingerprint: fingerprint,
        party_id: card.dataset.party,
        platform_id: card.dataset.platform,
        purpose: "notary.revoke.v1",
        reason,
      });
      signatures[card.dataset.party] = await sign(key, new TextEncoder().encode(payload));
    }
    await api("me/keys/revoke", { method: "POST", token: tokens.get("party"), json: { key_fingerprint: fingerprint, reason, signatures } });
    remember(null);
    loggedOut(say("keys.revoked"), "ok");
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
});

// Replace the key by a new one made here, for every platform listed: one POST /me/keys/rotate
// per party, each approved by the key this tab logged in with and proven by the new key. The
// new key waits in its own slot until all are done; an attempt cut short is finished with the
// same key (the list then shows only the platforms still on the old key).
keysSection.addEventListener("submit", async (event) => {
  const form = event.target.closest("#rotate");
  if (!form) return;
  event.preventDefault();
  const old = await revokingKey(form.dataset.key);
  if (!old) {
    show(message, say("keys.need_key_to_rotate"));
    return;
  }
  const browsers = await browserKey();
  if (browsers && browsers.fingerprint !== old.fingerprint) {
    show(message, say("keys.other_browser_key"));
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  show(message, say("working"));
  const cards = [...keysSection.querySelectorAll("[data-party]")];
  let next = null;
  let moved = 0;
  try {
    next = (await nextKey()) || (await makeNextKey(form.querySelector("#rotate-kind").value));
    for (const card of cards) {
      const body = await rotationBody(old, next, {
        partyId: card.dataset.party,
        platformId: card.dataset.platform,
        commitment: card.dataset.commitment,
      });
      await api("me/keys/rotate", { method: "POST", token: tokens.get("party"), json: body });
      moved += 1;
      if (!next.used) await markNextKeyUsed(next);
    }
  } catch (error) {
    if (next && !next.used) await forgetNextKey(); // no platform knows it: the next attempt makes another
    const words = error instanceof ApiError ? say(`keys.rotate.${error.code}`, error.words) : say("key.unsupported");
    const partial = moved ? say("keys.rotate_partial").replace("%(done)s", moved).replace("%(total)s", cards.length) : "";
    show(message, [words, partial].filter(Boolean).join(" "));
    button.disabled = false;
    if (moved) await loadKeys();
    return;
  }
  const adopted = await adoptNextKey(next);
  remember(adopted);
  try {
    await login(adopted); // the old key's tokens went with its last party
    await loadKeys();
    show(message, say("keys.rotated").replace("%(key)s", adopted.fingerprint), "ok");
  } catch (error) {
    loggedOut(say("keys.rotated_log_in"), "ok");
  }
});

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
  remember(null);
  loggedOut(say("logged_out"), "ok");
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
