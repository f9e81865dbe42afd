// /me/key: make a key in this browser, show its public half, prepare the enrolment request.
import { ApiError, say, saveFile, show } from "./lib/page.js";
import { browserKey, enrolment, forgetBrowserKey, makeBrowserKey, publicPem } from "./lib/keys.js";

const message = document.getElementById("key-message");
let opening = null; // the identity opening of the last enrolment request made here

async function render() {
  const key = await browserKey();
  document.getElementById("no-key").hidden = Boolean(key);
  document.getElementById("have-key").hidden = !key;
  if (!key) return;
  document.getElementById("key-fingerprint").textContent = key.fingerprint;
  document.getElementById("key-kind-shown").textContent = key.algorithm.name === "ECDSA" ? "ECDSA P-256" : "Ed25519";
  document.getElementById("public-pem").value = publicPem(key);
  document.getElementById("have-key").dataset.fingerprint = key.fingerprint;
}

document.getElementById("make-key").addEventListener("click", async (event) => {
  event.target.disabled = true;
  try {
    await makeBrowserKey(document.getElementById("key-kind").value);
    show(message, say("key.made"), "ok");
    await render();
  } catch (error) {
    show(message, say("key.unsupported"));
  } finally {
    event.target.disabled = false;
  }
});

document.getElementById("download-public").addEventListener("click", async () => {
  const key = await browserKey();
  saveFile(new Blob([publicPem(key)], { type: "application/x-pem-file" }), "public.pem");
});

document.getElementById("make-enrolment").addEventListener("click", async () => {
  const platformId = document.getElementById("enrol-platform").value.trim();
  const name = document.getElementById("enrol-name").value.trim();
  const idNumber = document.getElementById("enrol-id").value.trim();
  if (!platformId || !name || !idNumber) {
    show(message, say("key.fill_in"));
    return;
  }
  const made = await enrolment(await browserKey(), { platformId, name, idNumber });
  opening = made.opening;
  document.getElementById("enrolment").value = JSON.stringify(made.body, null, 2);
  document.getElementById("opening-commitment").textContent = made.commitment;
  document.getElementById("opening-box").hidden = false;
  show(message, say("key.enrolment_ready"), "ok");
});

document.getElementById("download-opening").addEventListener("click", () => {
  if (opening) saveFile(new Blob([opening], { type: "application/json" }), "opening.json");
});

document.getElementById("forget-key").addEventListener("click", async () => {
  await forgetBrowserKey();
  show(message, say("key.removed"), "ok");
  await render();
});

render().catch((error) => show(message, error instanceof ApiError ? error.words : String(error)));
