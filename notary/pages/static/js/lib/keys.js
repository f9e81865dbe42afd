// A person's own key, in the browser: made with WebCrypto (the private half non-extractable,
// kept in IndexedDB), or read from a `notary keygen` private.pem that never leaves the page.
// And the key login: sign the server's challenge (notary.login.v1) and keep the party token.
import { api, tokens } from "./page.js";
import { canonicalJson } from "./canon.js";
import { fromBase64, pem, pemBody, sha256Hex, toBase64 } from "./bytes.js";

const DB = "notary-keys";
const STORE = "keys";
const SLOT = "default";
const NEXT = "next";
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

async function kept(slot) {
  try {
    return (await inStore("readonly", (store) => store.get(slot))) || null;
  } catch (ignored) {
    return null;
  }
}

export async function browserKey() {
  return kept(SLOT);
}

// Make the browser's key: the private half can sign but can never be read out, not even by
// this page; only the public half is exported, for enrolment.
async function generated(kind) {
  const algorithm = kind === "p256" ? P256 : ED25519;
  const pair = await crypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
  return { ...(await describe(pair.privateKey, pair.publicKey, algorithm)), created: new Date().toISOString() };
}

export async function makeBrowserKey(kind = "ed25519") {
  const key = await generated(kind);
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

const SALT_BYTES = 32; // an identity salt: 256 bits, never reused

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

// The enrolment of this key (what `notary enrol` makes): a salt of 32 random bytes drawn
// here, the identity opening over it (notary.identity.v1) and its commitment, and the
// notary.enrol.v2 proof that binds this key to that commitment (docs/formats.md section 1).
// Returns the body of POST /parties (sent to the platform, with the salt) and the opening's
// exact bytes, which prove the identity later (`notary verify --opening`) and stay with the party.
export async function enrolment(key, { platformId, name, idType = "cn_resident", idNumber }) {
  const number = idNumber.replace(/\s+/g, "").toUpperCase();
  const salt = toBase64(crypto.getRandomValues(new Uint8Array(SALT_BYTES)));
  const opening = canonicalJson({ id_number: number, id_type: idType, purpose: "notary.identity.v1", salt });
  const commitment = await sha256Hex(opening);
  const payload = canonicalJson({
    identity_commitment: commitment,
    key_fingerprint: key.fingerprint,
    platform_id: platformId,
    purpose: "notary.enrol.v2",
  });
  const body = {
    name,
    id_type: idType,
    id_number: number,
    identity_salt: salt,
    public_key: publicPem(key),
    proof: await sign(key, new TextEncoder().encode(payload)),
  };
  return { body, opening, commitment };
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

// A rotation's new key waits in its own slot (NEXT) until every platform has moved to it: a
// page closed half-way keeps it, and the next attempt finishes with the same key.
export async function nextKey() {
  return kept(NEXT);
}

export async function makeNextKey(kind = "ed25519") {
  const key = { ...(await generated(kind)), used: false };
  await inStore("readwrite", (store) => store.put(key, NEXT));
  return key;
}

export async function markNextKeyUsed(key) {
  key.used = true;
  await inStore("readwrite", (store) => store.put(key, NEXT));
}

export async function forgetNextKey() {
  await inStore("readwrite", (store) => store.delete(NEXT));
}

// Every platform moved: the new key becomes this browser's key (the old one is no longer any
// party's key, and the private half of a browser key could never be taken elsewhere anyway).
export async function adoptNextKey(key) {
  const { used, ...adopted } = key;
  await inStore("readwrite", (store) => store.put(adopted, SLOT));
  await forgetNextKey();
  return adopted;
}

// A rotation that moved every platform but was cut short before the new key was adopted: the
// old key logs in nowhere any more, the waiting new key does. Answers the adopted key, or null.
export async function finishedRotation() {
  const next = await nextKey();
  if (!next || !next.used) return null;
  try {
    await login(next);
  } catch (ignored) {
    return null;
  }
  return adoptNextKey(next);
}

// The name the notary gives a key's algorithm (docs/payloads.md): what notary.rotate.v1 signs.
export function algorithmName(key) {
  return key.algorithm.name === "ECDSA" ? "ecdsa-p256-sha256" : "ed25519";
}

// One party's rotation to `next` (POST /me/keys/rotate): the old key approves it with
// notary.rotate.v1, the new key proves itself for the party's identity commitment with
// notary.enrol.v2 (what `notary enrol` and /me/key sign for a first enrolment).
export async function rotationBody(old, next, { partyId, platformId, commitment }) {
  const approval = canonicalJson({
    new_algorithm: algorithmName(next),
    new_key_fingerprint: next.fingerprint,
    old_key_fingerprint: old.fingerprint,
    party_id: partyId,
    platform_id: platformId,
    purpose: "notary.rotate.v1",
  });
  const proof = canonicalJson({
    identity_commitment: commitment,
    key_fingerprint: next.fingerprint,
    platform_id: platformId,
    purpose: "notary.enrol.v2",
  });
  const encoder = new TextEncoder();
  return {
    party_id: partyId,
    new_public_key: publicPem(next),
    new_enrolment_proof: await sign(next, encoder.encode(proof)),
    signature: await sign(old, encoder.encode(approval)),
  };
}

export function decodePayload(base64) {
  return fromBase64(base64);
}
