// The undo page (/account/undo-email-change?token=…): one button that sends
// the mailed token to POST /api/auth/undo-email-change, then says what
// happened. Standalone: the account page's script is not loaded here.
"use strict";

const byId = (id) => document.getElementById(id);

async function sendUndo(token) {
  try {
    const response = await fetch("/api/auth/undo-email-change", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { status: response.status, body, retryAfter: response.headers.get("Retry-After") };
  } catch {
    return { status: 0, body: null, retryAfter: null };
  }
}

/** What went wrong, in words for the person holding the link. */
function undoProblem(answer) {
  switch (answer.status) {
    case 0: return "The account service cannot be reached. Check your connection and try again.";
    case 400: return "This link has already been used or has expired. If you cannot get into your account, use “Forgot password?” on the account page.";
    case 404: return "Undoing an email change is not available on this service right now.";
    case 409: return "Your old address is now used by another account, so it cannot be put back. This link stays usable for its 7 days, should that address become free again.";
    case 429: return "Too many attempts. Wait a moment and try again.";
    default: return answer.status >= 500
      ? "Something went wrong on our side. Try again in a moment."
      : "This request was refused. Reload the page and try again.";
  }
}

async function onUndo(token) {
  const button = byId("undo-button");
  const error = byId("undo-error");
  error.hidden = true;
  button.disabled = true;
  const answer = await sendUndo(token);
  button.disabled = false;
  if (answer.status === 200 && answer.body?.user) {
    byId("undo-offer").hidden = true;
    byId("undo-email").textContent = answer.body.user.primary_email;
    byId("undo-done").hidden = false;
    byId("undo-done-heading").focus();
  } else {
    error.textContent = undoProblem(answer);
    error.hidden = false;
  }
}

function start() {
  const token = new URLSearchParams(window.location.search).get("token");
  if (!token) {
    byId("undo-offer").hidden = true;
    byId("undo-missing").hidden = false;
    return;
  }
  byId("undo-button").addEventListener("click", () => onUndo(token));
}

start();
