// /platforms/<id>: a key holder logged in (in this tab) may follow the platform.
import { api, ApiError, say, show, tokens } from "./lib/page.js";

const app = document.getElementById("follow-app");
const button = document.getElementById("follow");
const message = document.getElementById("follow-message");
const platformId = app.dataset.platform;

async function followed() {
  const answer = await api("me/follows", { token: tokens.get("party") });
  return answer.platforms.some((platform) => platform.platform_id === platformId);
}

async function start() {
  if (!tokens.get("party")) return;
  try {
    if (await followed()) {
      show(message, say("follow.following"), "ok");
    } else {
      button.hidden = false;
    }
    document.getElementById("follow-login").hidden = true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) tokens.forget("party");
  }
}

button.addEventListener("click", async () => {
  button.disabled = true;
  try {
    await api(`me/follows/${encodeURIComponent(platformId)}`, { method: "PUT", token: tokens.get("party") });
    button.hidden = true;
    show(message, say("follow.following"), "ok");
  } catch (error) {
    show(message, error instanceof ApiError ? error.words : say("error.network"));
  } finally {
    button.disabled = false;
  }
});

start();
