// The account page: plain JavaScript on the public API, nothing else.
"use strict";

const SESSION_ENDED = "Your session has ended. Please log in again.";

const $ = (id) => document.getElementById(id);

/** Calls the API; resolves to {status, body, retryAfter}, or status 0 when unreachable. */
async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { status: 0, body: null, retryAfter: null };
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, retryAfter: response.headers.get("Retry-After") };
}

function seconds(retryAfter) {
  const value = Number.parseInt(retryAfter ?? "", 10);
  return Number.isFinite(value) && value > 0 ? value : 1;
}

function waitText(retryAfter) {
  const wait = seconds(retryAfter);
  return wait === 1 ? "1 second" : wait < 120 ? `${wait} seconds` : `${Math.ceil(wait / 60)} minutes`;
}

/** Plain words for an answer that no field explains. */
function plainMessage(answer) {
  switch (answer.status) {
    case 0: return "The account service cannot be reached. Check your connection and try again.";
    case 403: return answer.body?.message === "Please log out first"
      ? "You are already logged in."
      : "This request was refused. Reload the page and try again.";
    case 409: return "That email is already used by another account.";
    case 413: return "That is too much text.";
    case 429: return `Too many attempts. Try again in ${waitText(answer.retryAfter)}.`;
    case 503: return `The service is busy right now. Try again in ${waitText(answer.retryAfter)}.`;
    default: return answer.status >= 500
      ? "Something went wrong on our side. Try again in a moment."
      : answer.body?.message ?? `Unexpected answer (${answer.status}).`;
  }
}

const FIELD_NAMES = {
  email: "email address",
  password: "password",
  current_password: "current password",
  new_password: "new password",
  otp: "code",
  code: "code",
  recovery_code: "recovery code",
};

/** A validation issue in words for people; the API keeps zod's wording for programs. */
function issueText(issue) {
  const field = issue.path?.[0];
  const name = FIELD_NAMES[field] ?? "value";
  const isPassword = ["password", "current_password", "new_password"].includes(field);
  switch (issue.code) {
    case "invalid_string":
      return issue.validation === "email" ? "Enter a valid email address, like name@example.com." : `Check the ${name}.`;
    case "invalid_type":
      return `Enter ${field === "email" ? "an" : "a"} ${name}.`;
    case "too_small":
      return isPassword
        ? `The ${name} needs at least ${issue.minimum} characters.`
        : `The ${name} is too short.`;
    case "too_big":
      return isPassword
        ? `The ${name} can have at most ${issue.maximum} characters.`
        : `The ${name} is too long.`;
    case "custom":
      switch (issue.message) {
        case "This password is too common": return "This password is too common. Choose one that is harder to guess.";
        case "Current password is incorrect": return "Your current password is not right.";
        case "Passwords must match": return "The passwords do not match.";
        case "Invalid code": return "Enter the code from the mail: digits only.";
        default: return issue.message;
      }
    default:
      return issue.message;
  }
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

/** Clears every error of a form whose fields are `${prefix}-${name}`, and
 * the last status line, so an old "Saved." never stands beside a new error. */
function clearErrors(prefix, names) {
  setStatus("");
  for (const name of names) {
    const input = $(`${prefix}-${name}`);
    const error = $(`${prefix}-${name}-error`);
    input.removeAttribute("aria-invalid");
    error.textContent = "";
    error.hidden = true;
  }
  const formError = $(`${prefix}-form-error`);
  formError.textContent = "";
  formError.hidden = true;
}

/** Shows the server's validation issues next to their fields; true if any was placed. */
function showIssues(prefix, answer, fieldIds) {
  const issues = answer.body?.data?.issues;
  if (!Array.isArray(issues)) return false;
  let first = null;
  for (const issue of issues) {
    const field = fieldIds[issue.path?.[0]];
    if (!field) continue;
    const error = $(`${prefix}-${field}-error`);
    const text = issue.code ? issueText(issue) : issue.message;
    error.textContent = error.hidden ? text : `${error.textContent} ${text}`;
    error.hidden = false;
    const input = $(`${prefix}-${field}`);
    input.setAttribute("aria-invalid", "true");
    first ??= input;
  }
  if (first) first.focus();
  return first !== null;
}

function showFormError(prefix, text) {
  const formError = $(`${prefix}-form-error`);
  formError.textContent = text;
  formError.hidden = false;
}

let account = null;

function showSignedOut(message) {
  account = null;
  $("loading").hidden = true;
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  closeDeleteConfirmation();
  if (message) setStatus(message, true);
  // reset.js offers "Forgot password?" when the service can send mail.
  document.dispatchEvent(new CustomEvent("account:signed-out"));
}

function showSignedIn(user) {
  account = user;
  $("loading").hidden = true;
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  $("account-email").textContent = user.primary_email;
  $("account-id").textContent = user.id;
  // activity.js lists the sessions and the history of this account.
  document.dispatchEvent(new CustomEvent("account:signed-in", { detail: user }));
}

async function withBusy(button, work) {
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors("login", ["email", "password"]);
  await withBusy(form.querySelector("button"), async () => {
    const answer = await api("POST", "/api/auth/login", {
      email: $("login-email").value,
      password: $("login-password").value,
    });
    if (answer.status === 200) {
      form.reset();
      showSignedIn(answer.body.user);
      setStatus("You are logged in.");
    } else if (answer.status === 401 && answer.body?.data?.challenge_id) {
      // totp.js asks for the second step.
      form.reset();
      document.dispatchEvent(new CustomEvent("account:second-factor", { detail: answer.body.data.challenge_id }));
    } else if (answer.status === 401) {
      showFormError("login", "Wrong email or password.");
    } else if (!(answer.status === 400 && showIssues("login", answer, { email: "email", password: "password" }))) {
      showFormError("login", plainMessage(answer));
    }
  });
}

async function onSignUp(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors("sign-up", ["email", "password"]);
  await withBusy(form.querySelector("button"), async () => {
    const answer = await api("POST", "/api/auth/sign-up", {
      email: $("sign-up-email").value,
      password: $("sign-up-password").value,
    });
    if (answer.status === 200) {
      form.reset();
      showSignedIn(answer.body.user);
      setStatus("Your account is ready. You are logged in.");
    } else if (answer.status === 409) {
      showIssues("sign-up", { body: { data: { issues: [{ path: ["email"], message: plainMessage(answer) }] } } }, { email: "email" });
    } else if (!(answer.status === 400 && showIssues("sign-up", answer, { email: "email", password: "password" }))) {
      showFormError("sign-up", plainMessage(answer));
    }
  });
}

async function onUpdate(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const fields = ["email", "password", "current-password"];
  clearErrors("update", fields);
  const body = {};
  if ($("update-email").value !== "") body.email = $("update-email").value;
  if ($("update-password").value !== "") body.password = $("update-password").value;
  if (!$("current-password-field").hidden && $("update-current-password").value !== "") {
    body.current_password = $("update-current-password").value;
  }
  if (body.email === undefined && body.password === undefined) {
    showFormError("update", "Enter a new email, a new password, or both.");
    $("update-email").focus();
    return;
  }
  await withBusy(form.querySelector("button"), async () => {
    const answer = await api("PATCH", `/api/users/${encodeURIComponent(account.id)}`, body);
    if (answer.status === 200) {
      const changedPassword = body.password !== undefined;
      form.reset();
      $("current-password-field").hidden = true;
      showSignedIn(answer.body.user);
      setStatus(changedPassword ? "Saved. Other devices have been logged out." : "Saved.");
    } else if (answer.status === 401 || answer.status === 404) {
      showSignedOut(SESSION_ENDED);
    } else if (answer.status === 403 && answer.body?.message === "Recent authentication required") {
      $("current-password-field").hidden = false;
      showIssues("update", { body: { data: { issues: [{ path: ["current_password"], message: "Enter your current password to make this change." }] } } }, { current_password: "current-password" });
    } else if (answer.status === 409) {
      showIssues("update", { body: { data: { issues: [{ path: ["email"], message: plainMessage(answer) }] } } }, { email: "email" });
    } else if (answer.status === 400 && showIssues("update", answer, { email: "email", password: "password", current_password: "current-password" })) {
      if (answer.body.data.issues.some((issue) => issue.path?.[0] === "current_password")) {
        $("current-password-field").hidden = false;
      }
    } else {
      showFormError("update", plainMessage(answer));
    }
  });
}

async function onLogout(event) {
  setStatus("");
  await withBusy(event.currentTarget, async () => {
    const answer = await api("POST", "/api/auth/logout");
    if (answer.status === 200) {
      showSignedOut();
      setStatus("You are logged out.");
      $("login-email").focus();
    } else {
      setStatus(plainMessage(answer), true);
    }
  });
}

function openDeleteConfirmation() {
  $("delete-confirmation").hidden = false;
  $("delete-button").setAttribute("aria-expanded", "true");
  $("delete-cancel").focus();
}

function closeDeleteConfirmation() {
  $("delete-confirmation").hidden = true;
  $("delete-button").setAttribute("aria-expanded", "false");
  $("delete-error").hidden = true;
}

async function onDeleteConfirmed(event) {
  setStatus("");
  await withBusy(event.currentTarget, async () => {
    const answer = await api("DELETE", `/api/users/${encodeURIComponent(account.id)}`);
    if (answer.status === 200) {
      showSignedOut();
      setStatus("Your account has been deleted.");
      $("sign-up-email").focus();
    } else if (answer.status === 401 || answer.status === 404) {
      showSignedOut(SESSION_ENDED);
    } else {
      $("delete-error").textContent = plainMessage(answer);
      $("delete-error").hidden = false;
    }
  });
}

async function start() {
  $("login-form").addEventListener("submit", onLogin);
  $("sign-up-form").addEventListener("submit", onSignUp);
  $("update-form").addEventListener("submit", onUpdate);
  $("logout-button").addEventListener("click", onLogout);
  $("delete-button").addEventListener("click", openDeleteConfirmation);
  $("delete-cancel").addEventListener("click", () => {
    closeDeleteConfirmation();
    $("delete-button").focus();
  });
  $("delete-confirm").addEventListener("click", onDeleteConfirmed);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("delete-confirmation").hidden) {
      closeDeleteConfirmation();
      $("delete-button").focus();
    }
  });

  const answer = await api("GET", "/api/auth/session");
  if (answer.status === 200) {
    showSignedIn(answer.body.user);
  } else if (answer.status === 401) {
    showSignedOut();
  } else {
    showSignedOut();
    setStatus(plainMessage(answer), true);
  }
}

start();
