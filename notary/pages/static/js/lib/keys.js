// A person's own key, in the browser: made with WebCrypto (the private half non-extractable,
// kept in IndexedDB), or read from a `notary keygen` private.pem that never leaves the page.
// And the key login: sign the server's challenge (notary.login.v1) and keep the party token.
import { api, tokens } from "./page.js";
import { canonicalJson } from "./canon.js";
import { fromBase64, pem, pemBody, sha256Hex, toBase64 } from "./bytes.js";

const DB = "notary-keys";
const STORE = "keys";
const SLOT = "default";
export const ED25519 = { name: "Ed25519" };
export const P256 = { name: "ECDSA", namedCurve: "P-256" };

function database() {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DB, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

async function inStore(mode, act) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const request = act(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// A key as the page uses it: { privateKey (CryptoKey), spki (ArrayBuffer), algorithm, fingerprint }.
async function describe(privateKey, publicKey, algorithm) {
  const spki = await crypto.subtle.exportKey("spki", publicKey);
  return { privateKey, spki, algorithm, fingerprint: await sha256Hex(spki) };
}

export async function browserKey() {
  try {
    return (await inStore("readonly", (store) => store.get(SLOT))) || null;
  } catch (ignored) {
    return null;
  }
}

// Make the browser's key: the private half can sign but can never be read out, not even by
// this page; only the public half is exported, for enrolment.
export async function makeBrowserKey(kind = "ed25519") {
  const algorithm = kind === "p256" ? P256 : ED25519;
  const pair = await crypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
  const key = { ...(await describe(pair.privateKey, pair.publicKey, algorithm)), created: new Date().toISOString() };
  await inStore("readwrite", (store) => store.put(key, SLOT));
  return key;
}

export async function forgetBrowserKey() {
  await inStore("readwrite", (store) => store.delete(SLOT));
}

// A `notary keygen` private.pem (PKCS#8, Ed25519 or P-256). Its public half is derived through
// a JWK held only in memory; the key kept for signing is re-imported non-extractable.
export async function keyFromFile(text) {
  const der = pemBody(text, "PRIVATE KEY");
  if (!der) throw new KeyFileError("not_pem");
  for (const algorithm of [ED25519, P256]) {
    let loose;
    try {
      loose = await crypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]);
    } catch (ignored) {
      continue;
    }
    const jwk = await crypto.subtle.exportKey("jwk", loose);
    const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) };
    const publicKey = await crypto.subtle.importKey("jwk", publicJwk, algorithm, true, ["verify"]);
    const privateKey = await crypto.subtle.importKey("pkcs8", der, algorithm, false, ["sign"]);
    return describe(privateKey, publicKey, algorithm);
  }
  throw new KeyFileError("unsupported");
}

export class KeyFileError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

export async function sign(key, bytes) {
  const params = key.algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : ED25519;
  return toBase64(await crypto.subtle.sign(params, key.privateKey, bytes));
}

export function publicPem(key) {
  return pem("PUBLIC KEY", key.spki);
}

// The enrolment body of POST /parties for this key (what `notary enrol` prints): the
// identity hash and the proof are made here, the ID number is sent to the platform only.
export async function enrolmentBody(key, { platformId, name, idType = "cn_resident", idNumber }) {
  const number = idNumber.replace(/\s+/g, "").toUpperCase();
  const identity = await sha256Hex(`${idType}:${number}`);
  const payload = canonicalJson({
    identity_sha256: identity,
    key_fingerprint: key.fingerprint,
    platform_id: platformId,
    purpose: "notary.enrol.v1",
  });
  return {
    name,
    id_type: idType,
    id_number: number,
    public_key: publicPem(key),
    proof: await sign(key, new TextEncoder().encode(payload)),
  };
}

// Log in with the key: challenge, sign the login payload, keep the token in this tab only.
export async function login(key) {
  const issued = await api("auth/challenge", { method: "POST", json: { key_fingerprint: key.fingerprint } });
  const payload = canonicalJson({
    challenge: issued.challenge_base64,
    key_fingerprint: key.fingerprint,
    purpose: "notary.login.v1",
  });
  const signature = await sign(key, new TextEncoder().encode(payload));
  const answer = await api("auth/token", {
    method: "POST",
    json: { key_fingerprint: key.fingerprint, challenge_base64: issued.challenge_base64, signature },
  });
  tokens.set("party", answer.token, answer.expires_at);
  sessionStorage.setItem("notary.key.fingerprint", key.fingerprint);
  return answer.token;
}

export function decodePayload(base64) {
  return fromBase64(base64);
}
