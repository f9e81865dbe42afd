// /me, 核验: check a contract copy (fingerprinted here, never uploaded), report a contract a
// platform did not file (signed here with the key that logged in), the platforms followed and
// the reports lodged. The answers are fragments the server renders, asked for with the token.
import { api, ApiError, say, show, tokens } from "./lib/page.js";
import { canonicalJson } from "./lib/canon.js";
import { sha256Hex, toBase64 } from "./lib/bytes.js";
import { sign } from "./lib/keys.js";
import { currentKey } from "./lib/current-key.js";

const message = document.getElementById("check-message");
const answer = document.getElementById("check-answer");
const fileInput = document.getElementById("check-file");
let checked = null; // { digest, file, claimed }

function fail(error) {
  show(message, error instanceof ApiError ? error.words : say("error.network"));
}

async function fragment(path, { method = "GET", json } = {}) {
  const token = tokens.get("party");
  if (!token) return null;
  const headers = { Authorization: `Bearer ${token}` };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const query = new URLSearchParams({ lang: document.documentElement.lang });
  const response = await fetch(`${path}?${query}`, {
    method, headers, body: json === undefined ? undefined : JSON.stringify(json), cache: "no-store", credentials: "omit",
  });
  return response.text();
}

async function refresh() {
  const follows = await fragment("/me/follows");
  if (follows === null) return;
  document.getElementById("follows").innerHTML = follows;
  document.getElementById("my-reports").innerHTML = await fragment("/me/reports");
  document.getElementById("my-reports").dataset.ready = "yes";
}

document.getElementById("check").addEventListener("click", async (event) => {
  show(message, "");
  if (!fileInput.files.length) {
    show(message, say("check.choose_file"));
    return;
  }
  const button = event.target;
  button.disabled = true;
  try {
    const file = fileInput.files[0];
    const digest = await sha256Hex(await file.arrayBuffer());
    const claimed = {};
    const amount = document.getElementById("check-amount").value.trim();
    const start = document.getElementById("check-start").value.trim();
    if (amount) claimed.amount = amount;
    if (start) claimed.start_date = start;
    checked = { digest, file, claimed };
    answer.innerHTML = await fragment("/me/check", { method: "POST", json: { document_sha256: digest, claimed } });
    answer.dataset.ready = "yes";
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
});

answer.addEventListener("submit", async (event) => {
  event.preventDefault();
  const platformId = document.getElementById("report-platform").value;
  if (!platformId) {
    show(message, say("report.choose_platform"));
    return;
  }
  const key = await currentKey();
  if (!key || !checked) {
    show(message, say("report.log_in_again"));
    return;
  }
  const button = document.getElementById("report");
  button.disabled = true;
  try {
    const payload = new TextEncoder().encode(canonicalJson({
      claimed: checked.claimed,
      document_sha256: checked.digest,
      key_fingerprint: key.fingerprint,
      platform_id: platformId,
      purpose: "notary.report.v1",
      reported_at: new Date().toISOString(),
    }));
    const body = { payload_base64: toBase64(payload), signature: await sign(key, payload) };
    if (document.getElementById("report-attach").checked) {
      body.document_base64 = toBase64(await checked.file.arrayBuffer());
    }
    const lodged = await api("reports", { method: "POST", json: body, token: tokens.get("party") });
    document.getElementById("report-form").remove();
    show(message, say("report.lodged").replace("%(report)s", lodged.report_id), "ok");
    await refresh();
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
});

document.getElementById("follows").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-unfollow]");
  if (!button) return;
  button.disabled = true;
  try {
    await api(`me/follows/${encodeURIComponent(button.dataset.unfollow)}`, { method: "DELETE", token: tokens.get("party"), raw: true });
    await refresh();
  } catch (error) {
    fail(error);
  }
});

document.addEventListener("notary:contracts-shown", () => refresh().catch(fail));
