// Passkeys: signing in with one from the signed-out view, and, signed in,
// listing, adding, renaming and deleting them. Shown only when the browser
// can use passkeys and the service has them on (its OpenAPI document lists
// the passkey routes only then). Loaded after app.js and activity.js, whose
// helpers ($, api, plainMessage, withBusy, setStatus, showSignedIn,
// showSignedOut, element, when, showError, refreshActivity) it uses.
"use strict";

let passkeysOn = false;

/** Words for a browser's refusal (a DOMException from navigator.credentials). */
function browserRefusal(error, creating) {
  switch (error?.name) {
    case "NotAllowedError":
      return "The passkey request was cancelled or timed out. Try again when you are ready.";
    case "InvalidStateError":
      return creating
        ? "This device already holds a passkey for your account."
        : "This passkey cannot be used here.";
    case "SecurityError":
      return "Passkeys need this page to be opened at the service's own address over a secure connection.";
    case "NotSupportedError":
      return creating
        ? "This browser or device cannot create a passkey."
        : "This browser or device cannot use passkeys.";
    case "AbortError":
      return "The passkey request was interrupted. Try again.";
    default:
      return "The browser could not complete the passkey request. Try again.";
  }
}

function browserSupportsPasskeys() {
  return Boolean(window.PublicKeyCredential
    && typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function"
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function"
    && navigator.credentials);
}

async function serviceHasPasskeys() {
  const answer = await api("GET", "/api/openapi.json");
  return answer.status === 200 && Boolean(answer.body?.paths?.["/api/auth/passkey"]);
}

async function signInWithPasskey(event) {
  setStatus("");
  showError("passkey-login-error", "");
  await withBusy(event.currentTarget, async () => {
    const options = await api("POST", "/api/auth/passkey/options", {});
    if (options.status !== 200) return showError("passkey-login-error", plainMessage(options));
    let credential;
    try {
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.body.publicKey);
      credential = await navigator.credentials.get({ publicKey });
    } catch (error) {
      return showError("passkey-login-error", browserRefusal(error, false));
    }
    const answer = await api("POST", "/api/auth/passkey", {
      challenge_id: options.body.challenge_id,
      credential: credential.toJSON(),
    });
    if (answer.status === 200) {
      setStatus("Signed in with your passkey.");
      showSignedIn(answer.body.user);
    } else if (answer.status === 401) {
      showError("passkey-login-error", "This passkey is not recognised. It may have been removed from your account; sign in with your password instead.");
    } else {
      showError("passkey-login-error", plainMessage(answer));
    }
  });
}

function passkeysPath(user, id) {
  const base = `/api/users/${encodeURIComponent(user.id)}/passkeys`;
  return id ? `${base}/${encodeURIComponent(id)}` : base;
}

async function loadPasskeys(user) {
  const answer = await api("GET", passkeysPath(user));
  if (answer.status === 401) return showSignedOut(SESSION_ENDED);
  if (answer.status !== 200) return showError("passkeys-error", plainMessage(answer));
  const list = $("passkeys-list");
  list.replaceChildren();
  if (answer.body.passkeys.length === 0) {
    list.append(element("li", "item-meta", "No passkeys yet."));
  }
  for (const passkey of answer.body.passkeys) {
    const item = element("li");
    item.dataset.passkeyId = passkey.id;
    const text = element("div");
    const used = passkey.last_used_at ? `last used ${when(passkey.last_used_at)}` : "not used yet";
    text.append(element("p", "item-title", passkey.name), element("p", "item-meta", `Added ${when(passkey.created_at)} · ${used}`));
    const rename = element("button", "secondary", "Rename");
    rename.type = "button";
    rename.setAttribute("aria-label", `Rename passkey ${passkey.name}`);
    rename.addEventListener("click", () => renamePasskey(user, passkey, rename));
    const remove = element("button", "danger-outline", "Delete");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete passkey ${passkey.name}`);
    remove.addEventListener("click", () => deletePasskey(user, passkey, remove));
    item.append(text, rename, remove);
    list.append(item);
  }
}

async function addPasskey(event) {
  event.preventDefault();
  const user = account;
  if (!user) return;
  setStatus("");
  showError("passkeys-error", "");
  showError("passkey-name-error", "");
  showError("passkey-current-password-error", "");
  await withBusy($("passkey-add-button"), async () => {
    const password = $("passkey-current-password").value;
    const options = await api("POST", `${passkeysPath(user)}/options`, password ? { current_password: password } : {});
    if (options.status === 403 && options.body?.message === "Recent authentication required") {
      $("passkey-current-password-field").hidden = false;
      $("passkey-current-password").focus();
      return showError("passkey-current-password-error", "Enter your current password to add a passkey.");
    }
    if (options.status === 400 && options.body?.data?.issues) {
      return showError("passkey-current-password-error", "That is not your current password.");
    }
    if (options.status === 401) return showSignedOut(SESSION_ENDED);
    if (options.status !== 200) return showError("passkeys-error", plainMessage(options));
    let credential;
    try {
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.body.publicKey);
      credential = await navigator.credentials.create({ publicKey });
    } catch (error) {
      return showError("passkeys-error", browserRefusal(error, true));
    }
    const body = { challenge_id: options.body.challenge_id, credential: credential.toJSON() };
    const name = $("passkey-name").value.trim();
    if (name) body.name = name;
    const answer = await api("POST", passkeysPath(user), body);
    if (answer.status === 200) {
      $("passkey-name").value = "";
      $("passkey-current-password").value = "";
      $("passkey-current-password-field").hidden = true;
      setStatus(`Passkey "${answer.body.passkey.name}" added. You can now sign in with it.`);
      await loadPasskeys(user);
      await refreshActivity(user);
    } else if (answer.status === 409) {
      showError("passkeys-error", "This passkey is already registered to an account.");
    } else if (answer.status === 400 && answer.body?.data?.issues) {
      showError("passkey-name-error", "A name is 1 to 64 characters.");
    } else if (answer.status === 400) {
      showError("passkeys-error", "The passkey could not be verified. Try again, or use another device.");
    } else if (answer.status === 401) {
      showSignedOut(SESSION_ENDED);
    } else {
      showError("passkeys-error", plainMessage(answer));
    }
  });
}

async function renamePasskey(user, passkey, button) {
  const name = window.prompt("New name for this passkey (1 to 64 characters):", passkey.name);
  if (name === null || name.trim() === "") return;
  await withBusy(button, async () => {
    const answer = await api("PATCH", passkeysPath(user, passkey.id), { name: name.trim() });
    if (answer.status === 200) {
      setStatus(`Passkey renamed to "${answer.body.passkey.name}".`);
      await loadPasskeys(user);
    } else if (answer.status === 400) {
      showError("passkeys-error", "A name is 1 to 64 characters.");
    } else {
      showError("passkeys-error", plainMessage(answer));
    }
  });
}

async function deletePasskey(user, passkey, button) {
  setStatus("");
  showError("passkeys-error", "");
  await withBusy(button, async () => {
    const answer = await api("DELETE", passkeysPath(user, passkey.id));
    if (answer.status === 200 || answer.status === 404) {
      setStatus(`Passkey "${passkey.name}" deleted. Remove it from your device too.`);
      await loadPasskeys(user);
      await refreshActivity(user);
      $("passkeys-heading").focus();
    } else if (answer.status === 409) {
      showError("passkeys-error", "This passkey is your only way to sign in. Set a password or add another passkey first.");
    } else if (answer.status === 401) {
      showSignedOut(SESSION_ENDED);
    } else {
      showError("passkeys-error", plainMessage(answer));
    }
  });
}

EVENT_WORDS.passkey_added = "Passkey added";
EVENT_WORDS.passkey_removed = "Passkey deleted";

document.addEventListener("account:signed-in", (event) => {
  if (passkeysOn) loadPasskeys(event.detail);
});
document.addEventListener("DOMContentLoaded", async () => {
  if (!browserSupportsPasskeys() || !(await serviceHasPasskeys())) return;
  passkeysOn = true;
  $("passkey-login").hidden = false;
  $("passkeys-section").hidden = false;
  $("passkey-login-button").addEventListener("click", signInWithPasskey);
  $("passkey-add-form").addEventListener("submit", addPasskey);
  if (account) await loadPasskeys(account);
});
