// /verify: send the bundle (and only the fingerprint of the reader's own document), show the
// report, and offer it as JSON and as a signed PDF.
import { api, ApiError, embedded, say, saveFile, show, tokens } from "./lib/page.js";
import { sha256Hex } from "./lib/bytes.js";
import { canonicalJson } from "./lib/canon.js";

const form = document.getElementById("verify-form");
const bundleInput = document.getElementById("bundle");
const documentInput = document.getElementById("document");
const digestField = document.getElementById("document_sha256");
const message = document.getElementById("verify-message");
const progress = document.getElementById("verify-progress");
const reportSection = document.getElementById("report");
const drop = document.getElementById("drop");
const button = document.getElementById("verify-button");

let lastUpload = null; // the FormData of the report on screen, for its signed PDF

async function verify(formData) {
  show(message, "");
  reportSection.replaceChildren(); // never leave an old report on screen beside a new file
  delete reportSection.dataset.elapsedMs;
  progress.hidden = false;
  button.disabled = true;
  const started = performance.now();
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: formData,
      headers: { "X-Notary-Fragment": "1" },
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 413) throw new ApiError(413, "too_large", "");
    if (!response.ok && response.status !== 422) throw new ApiError(response.status, "internal_error", "");
    reportSection.innerHTML = await response.text();
    reportSection.dataset.elapsedMs = String(Math.round(performance.now() - started));
    lastUpload = response.ok ? formData : null;
    const heading = reportSection.querySelector("h2");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  } catch (error) {
    show(message, error instanceof ApiError ? error.words : say("error.network"));
  } finally {
    progress.hidden = true;
    button.disabled = false;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  reportSection.replaceChildren(); // at once: never an old report beside a new file
  if (!bundleInput.files.length) {
    show(message, say("verify.choose_bundle"));
    bundleInput.focus();
    return;
  }
  digestField.value = documentInput.files.length ? await sha256Hex(await documentInput.files[0].arrayBuffer()) : "";
  await verify(new FormData(form));
});

drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) bundleInput.files = event.dataTransfer.files;
});

reportSection.addEventListener("click", async (event) => {
  const action = event.target.closest("[data-action]")?.dataset.action;
  if (!action) return;
  const article = reportSection.querySelector("article");
  const report = embedded(article.querySelector(".report-json"));
  const name = report.contract_id || (report.case && report.case.case_id) || "export";
  if (action === "print") window.print();
  if (action === "json") {
    saveFile(new Blob([canonicalJson(report)], { type: "application/json" }), `${name}-verification.json`);
  }
  if (action === "pdf" && lastUpload) {
    event.target.disabled = true;
    try {
      const response = await api("/verify/report.pdf", { method: "POST", body: lastUpload, raw: true, headers: { Accept: "application/pdf" } });
      saveFile(await response.blob(), `${name}-verification-report.pdf`);
    } catch (error) {
      show(message, error instanceof ApiError ? error.words : say("error.network"));
    } finally {
      event.target.disabled = false;
    }
  }
});

// From "My contracts": #contract=<id> verifies that contract's bundle, fetched with the token.
async function verifyFromMyContracts() {
  const match = /^#contract=([A-Za-z0-9_]+)$/.exec(location.hash);
  const token = tokens.get("party");
  if (!match || !token) return;
  progress.hidden = false;
  try {
    const response = await api(`contracts/${match[1]}/evidence`, { token, raw: true, headers: { Accept: "application/zip" } });
    const file = new File([await response.blob()], `${match[1]}-evidence.zip`, { type: "application/zip" });
    const transfer = new DataTransfer();
    transfer.items.add(file);
    bundleInput.files = transfer.files;
    await verify(new FormData(form));
  } catch (error) {
    progress.hidden = true;
    show(message, error instanceof ApiError ? error.words : say("error.network"));
  }
}
verifyFromMyContracts();
