// /sign/<id>?role=…: log in with the party's key, show the sheet, check the payload against
// what is shown, and sign (or decline) exactly those bytes.
import { api, ApiError, embedded, say, show, tokens } from "./lib/page.js";
import { canonicalJson } from "./lib/canon.js";
import { sha256Hex } from "./lib/bytes.js";
import { keyPanel } from "./lib/key-panel.js";
import { decodePayload, sign } from "./lib/keys.js";

const app = document.getElementById("sign-app");
const contractId = app.dataset.contract;
const role = app.dataset.role;
const message = document.getElementById("sign-message");
const sheetSection = document.getElementById("sheet");
let key = null;
let documentBlob = null;

function fail(error) {
  show(message, error instanceof ApiError ? error.words : say("error.network"));
}

function mark(name, ok) {
  const item = sheetSection.querySelector(`#payload-checks [data-check="${name}"]`);
  item.className = ok ? "passed" : "failed";
  item.dataset.status = ok ? "passed" : "failed";
}

async function loadSheet() {
  const token = tokens.get("party");
  const response = await fetch(`/sign/${encodeURIComponent(contractId)}/sheet?role=${role}&lang=${document.documentElement.lang}`, {
    headers: { Authorization: `Bearer ${token}` },
    cache: "no-store",
    credentials: "omit",
  });
  sheetSection.innerHTML = await response.text();
  if (response.status === 401) tokens.forget("party");
  const dataBlock = sheetSection.querySelector(".sheet-data");
  if (!dataBlock) return;
  const data = embedded(dataBlock);
  const payload = JSON.parse(new TextDecoder().decode(decodePayload(data.payload_base64)));
  // The page's own checks: the payload names the terms shown and the document served.
  mark("terms", payload.terms_sha256 === (await sha256Hex(canonicalJson(data.terms))) && payload.contract_id === contractId && payload.role === role);
  try {
    const answer = await api(`contracts/${encodeURIComponent(contractId)}/document`, { token, raw: true, headers: { Accept: data.media_type } });
    documentBlob = new Blob([await answer.arrayBuffer()], { type: data.media_type });
    mark("document", payload.document_sha256 === (await sha256Hex(await documentBlob.arrayBuffer())));
  } catch (error) {
    mark("document", false);
    fail(error);
  }
  const signButton = sheetSection.querySelector('[data-action="sign"]');
  if (signButton) signButton.disabled = sheetSection.querySelectorAll("#payload-checks .passed").length !== 2;
  sheetSection.dataset.ready = "yes";
  sheetSection.querySelector("h2")?.focus();
}

async function act(kind) {
  const data = embedded(sheetSection.querySelector(".sheet-data"));
  const payload = decodePayload(kind === "sign" ? data.payload_base64 : data.decline_payload_base64);
  const signature = await sign(key, payload);
  const body = { role, signature };
  if (kind === "decline") {
    const reason = sheetSection.querySelector("#decline-reason").value.trim();
    if (reason) body.reason = reason;
  }
  const answer = await api(`contracts/${encodeURIComponent(contractId)}/${kind === "sign" ? "signatures" : "decline"}`, { method: "POST", json: body });
  show(message, say(kind === "sign" ? "sign.done" : "sign.declined").replace("%(status)s", say(`status.${answer.status}`, answer.status)), "ok");
  await loadSheet();
}

sheetSection.addEventListener("click", async (event) => {
  const action = event.target.closest("[data-action]")?.dataset.action;
  if (!action) return;
  event.target.disabled = true;
  try {
    if (action === "open-document" && documentBlob) {
      const frame = sheetSection.querySelector("#document-preview");
      frame.src = URL.createObjectURL(documentBlob);
      frame.hidden = false;
    }
    if (action === "sign") await act("sign");
    if (action === "decline") await act("decline");
  } catch (error) {
    fail(error);
  } finally {
    event.target.disabled = false;
  }
});

sheetSection.addEventListener("change", async (event) => {
  if (event.target.id !== "own-copy" || !event.target.files.length) return;
  const data = embedded(sheetSection.querySelector(".sheet-data"));
  const digest = await sha256Hex(await event.target.files[0].arrayBuffer());
  const result = sheetSection.querySelector("#own-copy-result");
  if (digest === data.document_sha256) show(result, say("sign.copy_matches"), "ok");
  else show(result, say("sign.copy_differs"));
});

keyPanel({
  onKey: async (chosen) => {
    key = chosen;
    show(message, "");
    document.getElementById("key-panel").hidden = true; // logged in: the sheet is what matters now
    await loadSheet();
  },
  onError: fail,
});
