// The "your key" panel: log in with the key kept in this browser, or with a key file.
import { ApiError } from "./page.js";
import { browserKey, finishedRotation, KeyFileError, keyFromFile, login } from "./keys.js";

export async function keyPanel({ onKey, onError }) {
  const stored = await browserKey();
  const withBrowser = document.getElementById("browser-key");
  const without = document.getElementById("no-browser-key");
  if (stored) {
    withBrowser.hidden = false;
    document.getElementById("browser-key-fingerprint").textContent = stored.fingerprint;
  } else {
    without.hidden = false;
  }
  const fileInput = document.getElementById("key-file");

  async function use(key, button) {
    button.disabled = true;
    try {
      await login(key);
      await onKey(key);
    } catch (error) {
      const adopted = error instanceof ApiError && error.code === "unauthenticated" && key === stored ? await finishedRotation() : null;
      if (adopted) {
        await onKey(adopted);
      } else if (error instanceof ApiError && error.code === "unauthenticated") {
        onError(new ApiError(401, "key_not_enrolled", ""));
      } else {
        onError(error);
      }
    } finally {
      button.disabled = false;
    }
  }

  document.getElementById("use-browser-key").addEventListener("click", (event) => use(stored, event.target));
  document.getElementById("use-key-file").addEventListener("click", async (event) => {
    if (!fileInput.files.length) {
      onError(new ApiError(0, "choose_key_file", ""));
      return;
    }
    let key;
    try {
      key = await keyFromFile(await fileInput.files[0].text());
    } catch (error) {
      onError(new ApiError(0, error instanceof KeyFileError ? `key_file_${error.code}` : "key_file_not_pem", ""));
      return;
    }
    await use(key, event.target);
  });
  return stored;
}

