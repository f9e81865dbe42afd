// /cases: token login, open a case, follow its status, list its contracts, download its export
// through a single-use ticket with progress counted in bundles.
import { api, ApiError, say, saveFile, show, tokens } from "./lib/page.js";

const message = document.getElementById("cases-message");
const loginPanel = document.getElementById("token-login");
const app = document.getElementById("cases-app");
const list = document.getElementById("case-list");
const template = document.getElementById("case-card");

function fail(error) {
  if (error instanceof ApiError && error.status === 401) {
    tokens.forget("investigator");
    app.hidden = true;
    loginPanel.hidden = false;
    show(message, say("cases.token_refused"));
    return;
  }
  show(message, error instanceof ApiError ? error.words : say("error.network"));
}

function scopeText(scope) {
  return Object.entries(scope).map(([key, value]) => `${key}: ${value}`).join(", ");
}

function card(item) {
  const node = template.content.firstElementChild.cloneNode(true);
  node.dataset.case = item.case_id;
  node.dataset.status = item.status;
  for (const field of node.querySelectorAll("[data-field]")) {
    const name = field.dataset.field;
    field.textContent = name === "scope" ? scopeText(item.scope) : name === "status" ? say(`cases.${item.status}`, item.status) : item[name];
  }
  node.querySelector("[data-field=status]").classList.add(item.status === "approved" ? "sealed" : "awaiting_signatures");
  for (const part of node.querySelectorAll("[data-when]")) part.hidden = part.dataset.when !== item.status;
  return node;
}

async function loadCases() {
  const token = tokens.get("investigator");
  if (!token) return;
  const answer = await api("cases", { token });
  list.replaceChildren(...answer.cases.map(card));
  loginPanel.hidden = true;
  app.hidden = false;
  list.dataset.ready = "yes";
}

document.getElementById("token-button").addEventListener("click", async () => {
  const field = document.getElementById("investigator-token");
  const token = field.value.trim();
  if (!token) {
    show(message, say("cases.enter_token"));
    return;
  }
  tokens.set("investigator", token);
  field.value = "";
  try {
    await loadCases();
    show(message, "");
  } catch (error) {
    fail(error);
  }
});

document.getElementById("cases-logout").addEventListener("click", () => {
  tokens.forget("investigator");
  list.replaceChildren();
  app.hidden = true;
  loginPanel.hidden = false;
  show(message, say("logged_out"), "ok");
});

document.getElementById("open-case").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const scope = { [form.get("scope_kind")]: String(form.get("scope_value")).trim() };
  try {
    const opened = await api("cases", {
      method: "POST",
      token: tokens.get("investigator"),
      json: { case_number: String(form.get("case_number")).trim(), legal_basis: String(form.get("legal_basis")).trim(), scope },
    });
    event.target.reset();
    show(message, say("cases.opened").replace("%(case)s", opened.case_id), "ok");
    await loadCases();
  } catch (error) {
    fail(error);
  }
});

async function listContracts(node, caseId) {
  const answer = await api(`cases/${encodeURIComponent(caseId)}/contracts`, { token: tokens.get("investigator") });
  const target = node.querySelector("[data-part=contracts]");
  const summary = document.createElement("p");
  summary.textContent = say("cases.in_scope").replace("%(in_scope)s", answer.in_scope).replace("%(sealed)s", answer.sealed);
  const table = document.createElement("ul");
  table.className = "checks";
  for (const item of answer.contracts) {
    const row = document.createElement("li");
    row.className = item.evidence_ready ? "passed" : "not_run";
    row.dataset.contract = item.contract_id;
    const what = document.createElement("span");
    what.className = "what mono";
    what.textContent = item.contract_id;
    const why = document.createElement("span");
    why.className = "why";
    why.textContent = `${say(`status.${item.status}`, item.status)} · ${item.platform.name}${item.platform.status === "defunct" ? ` (${say("cases.defunct")})` : ""}`;
    row.append(what, why);
    table.append(row);
  }
  target.replaceChildren(summary, table);
  node.dataset.sealed = String(answer.sealed);
  return answer;
}

function size(bytes) {
  return bytes < 1048576 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

// Counts the export's bundles as they stream by: each is a zip member named bundles/….
function bundleCounter() {
  const signature = [0x50, 0x4b, 0x03, 0x04];
  const prefix = new TextEncoder().encode("bundles/");
  let carry = new Uint8Array(0);
  let count = 0;
  return (chunk) => {
    const data = new Uint8Array(carry.length + chunk.length);
    data.set(carry);
    data.set(chunk, carry.length);
    let i = 0;
    for (; i + 30 + prefix.length <= data.length; i++) {
      if (data[i] === signature[0] && data[i + 1] === signature[1] && data[i + 2] === signature[2] && data[i + 3] === signature[3]) {
        if (prefix.every((byte, k) => data[i + 30 + k] === byte)) count++;
      }
    }
    carry = data.slice(i);
    return count;
  };
}

async function downloadExport(node, caseId, button) {
  const token = tokens.get("investigator");
  const listing = node.dataset.sealed ? { sealed: Number(node.dataset.sealed) } : await listContracts(node, caseId);
  const ticket = await api(`cases/${encodeURIComponent(caseId)}/export/ticket`, { method: "POST", token });
  const progressPart = node.querySelector("[data-part=progress]");
  const bar = progressPart.querySelector("progress");
  const words = node.querySelector("[data-part=progress-words]");
  progressPart.hidden = false;
  bar.max = Math.max(listing.sealed, 1);
  bar.value = 0;
  button.disabled = true;
  // The ticket is the credential here (no header): the same URL also works as a plain link.
  const response = await fetch(ticket.url, { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, response.status === 401 ? "unauthenticated" : "internal_error", "");
  const reader = response.body.getReader();
  const count = bundleCounter();
  const chunks = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    bytes += value.length;
    const bundles = count(value);
    bar.value = Math.min(bundles, bar.max);
    words.textContent = say("cases.progress").replace("%(done)s", bundles).replace("%(total)s", listing.sealed).replace("%(size)s", size(bytes));
  }
  bar.value = bar.max;
  words.textContent = say("cases.downloaded").replace("%(size)s", size(bytes));
  node.dataset.exported = "yes";
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || `${caseId}-export.zip`;
  saveFile(new Blob(chunks, { type: "application/zip" }), name);
  button.disabled = false;
}

list.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const node = button.closest("[data-case]");
  try {
    if (button.dataset.action === "contracts") await listContracts(node, node.dataset.case);
    if (button.dataset.action === "export") await downloadExport(node, node.dataset.case, button);
  } catch (error) {
    button.disabled = false;
    fail(error);
  }
});

loadCases().catch(fail);
