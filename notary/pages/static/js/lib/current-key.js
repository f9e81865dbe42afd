// The key this tab logged in with, for what it signs later (a report): kept in memory only.
// After a reload, the key kept in this browser is used if it is the one that logged in.
import { browserKey } from "./keys.js";

let current = null;

export function remember(key) {
  current = key;
}

export async function currentKey() {
  if (current) return current;
  const stored = await browserKey();
  if (stored && stored.fingerprint === sessionStorage.getItem("notary.key.fingerprint")) return stored;
  return null;
}
