// "Forgot password?" on the signed-out page: ask for a code by mail, then
// set a new password with it (POST /auth/otp). Offered only when the
// service sends mail, which its OpenAPI document tells (the route is listed
// only then). Loaded after app.js, whose helpers ($, api, plainMessage,
// clearErrors, showIssues, showFormError, setStatus, withBusy) it uses.
"use strict";

const RESET_FIELDS = { email: "email", otp: "otp", new_password: "password" };

let resetOffered = null;

/** Whether this service can mail reset codes; asked once per page. */
function resetAvailable() {
  resetOffered ??= api("GET", "/api/openapi.json").then(
    (answer) => answer.status === 200 && Object.hasOwn(answer.body?.paths ?? {}, "/auth/otp"),
  );
  return resetOffered;
}

/** Shows one step of the signed-out view: "login", "request" or "code". */
function showResetStep(step) {
  $("login-form").hidden = step !== "login";
  $("sign-up-form").hidden = step !== "login";
  $("reset-request-form").hidden = step !== "request";
  $("reset-code-form").hidden = step !== "code";
}

function openResetRequest() {
  clearErrors("reset-request", ["email"]);
  $("reset-request-email").value = $("reset-code-email").value || $("login-email").value;
  showResetStep("request");
  $("reset-request-email").focus();
}

function openResetCode() {
  clearErrors("reset-code", ["email", "otp", "password"]);
  $("reset-code-email").value ||= $("reset-request-email").value || $("login-email").value;
  showResetStep("code");
  ($("reset-code-email").value ? $("reset-code-otp") : $("reset-code-email")).focus();
}

function backToLogin() {
  setStatus("");
  showResetStep("login");
  $("forgot-button").focus();
}

function unavailable(answer) {
  return answer.status === 404
    ? "Password reset is not available on this service right now."
    : plainMessage(answer);
}

async function onResetRequest(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors("reset-request", ["email"]);
  const email = $("reset-request-email").value.trim();
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    const answer = await api("POST", "/auth/otp", { action: "create", email });
    if (answer.status === 200) {
      $("reset-code-email").value = email;
      $("reset-code-otp").value = "";
      openResetCode();
      // The same answer whether or not the address has an account.
      setStatus(`If an account exists for ${email}, we sent a code to it. Enter it below with your new password.`);
    } else if (!(answer.status === 400 && showIssues("reset-request", answer, { email: "email" }))) {
      showFormError("reset-request", unavailable(answer));
    }
  });
}

async function onResetCode(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors("reset-code", ["email", "otp", "password"]);
  const email = $("reset-code-email").value.trim();
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    const answer = await api("POST", "/auth/otp", {
      action: "validate",
      email,
      otp: $("reset-code-otp").value.trim(),
      new_password: $("reset-code-password").value,
    });
    if (answer.status === 200 && answer.body?.success === true) {
      form.reset();
      showResetStep("login");
      $("login-email").value = email;
      $("login-password").value = "";
      $("login-password").focus();
      setStatus("Your password has been changed and every device was signed out. Log in with your new password.");
    } else if (answer.status === 200) {
      const wrong = "That code is wrong or has expired. Check the latest mail, or send a new code.";
      showIssues("reset-code", { body: { data: { issues: [{ path: ["otp"], message: wrong }] } } }, { otp: "otp" });
    } else if (!(answer.status === 400 && showIssues("reset-code", answer, RESET_FIELDS))) {
      showFormError("reset-code", unavailable(answer));
    }
  });
}

let resetWired = false;

async function offerReset() {
  if (!(await resetAvailable()) || resetWired) return;
  resetWired = true;
  $("forgot-button").hidden = false;
  $("forgot-button").addEventListener("click", openResetRequest);
  $("reset-have-code").addEventListener("click", openResetCode);
  $("reset-new-code").addEventListener("click", openResetRequest);
  for (const button of document.querySelectorAll(".reset-back")) {
    button.addEventListener("click", backToLogin);
  }
  $("reset-request-form").addEventListener("submit", onResetRequest);
  $("reset-code-form").addEventListener("submit", onResetCode);
  // The undo page sends people here to use the code it had mailed.
  if (new URLSearchParams(window.location.search).get("reset") === "code" && !$("signed-out").hidden) {
    openResetCode();
    setStatus("Enter the code we mailed you, with a new password.");
  }
}

document.addEventListener("account:signed-out", offerReset);
// app.js may have shown the signed-out view before this script ran.
if (!$("signed-out").hidden) offerReset();
