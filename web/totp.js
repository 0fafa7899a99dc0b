// Two-step verification: the second step of a login (after a right
// password, or after a provider sign-in that lands on
// /account?second_factor=ID), and, signed in, turning TOTP on (QR code,
// key, confirming code, recovery codes shown once), off, and renewing the
// recovery codes. Loaded after app.js and activity.js, whose helpers ($,
// api, plainMessage, withBusy, setStatus, showSignedIn, showSignedOut,
// clearErrors, showIssues, showFormError, refreshActivity) it uses.
"use strict";

const SIX_DIGITS = /^\d{6}$/;
let secondFactorChallenge = null;
// A provider sign-in hands its challenge over in the address, once.
let challengeFromAddress = new URLSearchParams(window.location.search).get("second_factor");

function totpPath(user, tail = "") {
  return `/api/users/${encodeURIComponent(user.id)}/totp${tail}`;
}

/** A code as typed: six digits go as `code`, anything else as a recovery code. */
function codeBody(text) {
  const code = text.replace(/\s+/g, "");
  return SIX_DIGITS.test(code) ? { code } : { recovery_code: code };
}

function showSecondFactor(challengeId) {
  secondFactorChallenge = challengeId;
  $("signed-out").classList.add("second-step");
  $("second-factor-form").hidden = false;
  clearErrors("second-factor", ["code"]);
  $("second-factor-code").value = "";
  $("second-factor-code").focus();
}

function leaveSecondFactor() {
  secondFactorChallenge = null;
  $("signed-out").classList.remove("second-step");
  $("second-factor-form").hidden = true;
}

async function onSecondFactor(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors("second-factor", ["code"]);
  const typed = $("second-factor-code").value;
  if (typed.trim() === "") {
    showIssues("second-factor", { body: { data: { issues: [{ path: ["code"], message: "Enter the code from your app or a recovery code." }] } } }, { code: "code" });
    return;
  }
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    const answer = await api("POST", "/api/auth/login/second-factor", {
      challenge_id: secondFactorChallenge,
      ...codeBody(typed),
    });
    if (answer.status === 200) {
      leaveSecondFactor();
      showSignedIn(answer.body.user);
      setStatus("You are logged in.");
    } else if (answer.status === 401 && answer.body?.message === "Invalid code") {
      showIssues("second-factor", { body: { data: { issues: [{ path: ["code"], message: "That code is not right, or was used already. Try the next code your app shows." }] } } }, { code: "code" });
    } else if (answer.status === 401) {
      leaveSecondFactor();
      showFormError("login", "The sign-in took too long or had too many wrong codes. Log in again.");
      $("login-email").focus();
    } else if (answer.status === 400) {
      showIssues("second-factor", { body: { data: { issues: [{ path: ["code"], message: "Enter the 6 digits from your app, or a recovery code like abcde-fghij." }] } } }, { code: "code" });
    } else {
      showFormError("second-factor", plainMessage(answer));
    }
  });
}

/** Shows one of the signed-in TOTP views: "off", "confirm", "codes" or "on". */
function showTotpView(view) {
  $("totp-off").hidden = view !== "off";
  $("totp-confirm-form").hidden = view !== "confirm";
  $("totp-codes").hidden = view !== "codes";
  $("totp-manage-form").hidden = view !== "on";
  $("totp-state").textContent = view === "on" || view === "codes"
    ? "On: signing in with your password also asks for a code."
    : view === "confirm" ? "Not on yet: finish the setup below." : "Off.";
}

async function loadTotp(user) {
  const answer = await api("GET", totpPath(user));
  if (answer.status === 200) {
    showTotpView(answer.body.enabled ? "on" : "off");
  } else if (answer.status === 401 || answer.status === 404) {
    showSignedOut(SESSION_ENDED);
  }
}

function showRecoveryCodes(codes) {
  const list = $("totp-codes-list");
  list.replaceChildren(...codes.map((code) => {
    const item = document.createElement("li");
    item.textContent = code;
    return item;
  }));
  const text = `Recovery codes for ${account.primary_email}\nEach works once.\n\n${codes.join("\n")}\n`;
  $("totp-codes-download").href = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
  showTotpView("codes");
  $("totp-codes-heading").focus();
}

/** The answer needs the current password (recent authentication): ask for it. */
function askCurrentPassword(prefix) {
  $(`${prefix}-current-password-field`).hidden = false;
  showIssues(prefix, { body: { data: { issues: [{ path: ["current_password"], message: "Enter your current password to make this change." }] } } }, { current_password: "current-password" });
}

function currentPasswordOf(prefix, body) {
  if (!$(`${prefix}-current-password-field`).hidden && $(`${prefix}-current-password`).value !== "") {
    body.current_password = $(`${prefix}-current-password`).value;
  }
  return body;
}

async function onEnrol(event) {
  clearErrors("totp-enrol", ["current-password"]);
  await withBusy(event.currentTarget, async () => {
    const answer = await api("POST", totpPath(account), currentPasswordOf("totp-enrol", {}));
    if (answer.status === 200) {
      $("totp-enrol-current-password").value = "";
      $("totp-enrol-current-password-field").hidden = true;
      const image = new DOMParser().parseFromString(answer.body.qr_svg, "image/svg+xml").documentElement;
      image.setAttribute("role", "img");
      image.setAttribute("aria-label", "QR code of the key for your authenticator app");
      $("totp-qr").replaceChildren(document.importNode(image, true));
      $("totp-secret").textContent = answer.body.secret;
      $("totp-confirm-code").value = "";
      showTotpView("confirm");
      $("totp-confirm-code").focus();
    } else if (answer.status === 403 && answer.body?.message === "Recent authentication required") {
      askCurrentPassword("totp-enrol");
    } else if (answer.status === 400 && showIssues("totp-enrol", answer, { current_password: "current-password" })) {
      $("totp-enrol-current-password-field").hidden = false;
    } else if (answer.status === 409) {
      await loadTotp(account);
    } else if (answer.status === 401 || answer.status === 404) {
      showSignedOut(SESSION_ENDED);
    } else {
      showFormError("totp-enrol", plainMessage(answer));
    }
  });
}

async function onConfirm(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors("totp-confirm", ["code"]);
  const code = $("totp-confirm-code").value.replace(/\s+/g, "");
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    const answer = await api("POST", totpPath(account, "/confirm"), { code });
    if (answer.status === 200) {
      showRecoveryCodes(answer.body.recovery_codes);
      setStatus("Two-step verification is on.");
      await refreshActivity(account);
    } else if (answer.status === 400) {
      showIssues("totp-confirm", { body: { data: { issues: [{ path: ["code"], message: "That is not the code the app shows. Enter its 6 digits; check that the phone's clock is right." }] } } }, { code: "code" });
    } else if (answer.status === 409) {
      showFormError("totp-confirm", "The setup took too long. Cancel and start again.");
    } else if (answer.status === 401 || answer.status === 404) {
      showSignedOut(SESSION_ENDED);
    } else {
      showFormError("totp-confirm", plainMessage(answer));
    }
  });
}

/** Turning off or renewing: both take a code, and turning off may need the password. */
async function withManageCode(button, method, tail, onDone) {
  clearErrors("totp-manage", ["code", "current-password"]);
  const code = $("totp-manage-code").value.replace(/\s+/g, "");
  if (code === "") {
    showIssues("totp-manage", { body: { data: { issues: [{ path: ["code"], message: "Enter a code from your app or a recovery code." }] } } }, { code: "code" });
    return;
  }
  await withBusy(button, async () => {
    const answer = await api(method, totpPath(account, tail), currentPasswordOf("totp-manage", { code }));
    if (answer.status === 200) {
      $("totp-manage-form").reset();
      $("totp-manage-current-password-field").hidden = true;
      await onDone(answer);
      await refreshActivity(account);
    } else if (answer.status === 403 && answer.body?.message === "Recent authentication required") {
      askCurrentPassword("totp-manage");
    } else if (answer.status === 400 && answer.body?.message === "Invalid code") {
      showIssues("totp-manage", { body: { data: { issues: [{ path: ["code"], message: "That code is not right, or was used already." }] } } }, { code: "code" });
    } else if (answer.status === 400 && showIssues("totp-manage", answer, { code: "code", current_password: "current-password" })) {
      return;
    } else if (answer.status === 409) {
      await loadTotp(account);
    } else if (answer.status === 401 || answer.status === 404) {
      showSignedOut(SESSION_ENDED);
    } else {
      showFormError("totp-manage", plainMessage(answer));
    }
  });
}

EVENT_WORDS.totp_enabled = "Two-step verification turned on";
EVENT_WORDS.totp_disabled = "Two-step verification turned off";
EVENT_WORDS.recovery_codes_renewed = "New recovery codes";
EVENT_WORDS.recovery_code_used = "Recovery code used";
EVENT_WORDS.second_factor_failed = "Wrong verification code";

document.addEventListener("account:second-factor", (event) => showSecondFactor(event.detail));
document.addEventListener("account:signed-out", () => {
  if (challengeFromAddress) {
    const challenge = challengeFromAddress;
    challengeFromAddress = null;
    window.history.replaceState(null, "", window.location.pathname);
    showSecondFactor(challenge);
  }
});
document.addEventListener("account:signed-in", (event) => {
  leaveSecondFactor();
  loadTotp(event.detail);
});
document.addEventListener("DOMContentLoaded", () => {
  $("second-factor-form").addEventListener("submit", onSecondFactor);
  $("second-factor-cancel").addEventListener("click", () => {
    leaveSecondFactor();
    $("login-email").focus();
  });
  $("totp-enrol-button").addEventListener("click", onEnrol);
  $("totp-confirm-form").addEventListener("submit", onConfirm);
  $("totp-confirm-cancel").addEventListener("click", () => showTotpView("off"));
  $("totp-codes-done").addEventListener("click", () => {
    $("totp-codes-list").replaceChildren();
    showTotpView("on");
    $("totp-heading").focus();
  });
  if (account) loadTotp(account);
  $("totp-manage-form").addEventListener("submit", (event) => event.preventDefault());
  $("totp-renew-button").addEventListener("click", (event) => withManageCode(event.currentTarget, "POST", "/recovery-codes", async (answer) => {
    showRecoveryCodes(answer.body.recovery_codes);
    setStatus("New recovery codes are ready; the old ones no longer work.");
  }));
  $("totp-disable-button").addEventListener("click", (event) => withManageCode(event.currentTarget, "DELETE", "", async () => {
    setStatus("Two-step verification is off.");
    await loadTotp(account);
  }));
});
