// The signed-in part that shows where the account is used: its sessions
// (end one, or every other) and its recent history. Loaded after app.js,
// whose helpers ($, api, plainMessage, withBusy, setStatus) it uses.
"use strict";

const EVENT_WORDS = {
  sign_up: "Account created",
  login: "Signed in",
  login_failed: "Failed sign-in attempt",
  logout: "Signed out",
  password_changed: "Password changed",
  email_changed: "Email changed",
  session_ended: "Signed out remotely",
};

/** "Firefox on Linux" from a User-Agent; good enough to recognise a device. */
function describeDevice(userAgent) {
  if (!userAgent) return "Unknown device";
  const browsers = [[/Edg\//, "Edge"], [/OPR\//, "Opera"], [/Firefox\//, "Firefox"], [/Chrom(e|ium)\//, "Chrome"], [/Safari\//, "Safari"], [/^curl\//, "curl"]];
  const systems = [[/Windows/, "Windows"], [/Android/, "Android"], [/iPhone|iPad/, "iOS"], [/Mac OS X|Macintosh/, "macOS"], [/CrOS/, "ChromeOS"], [/Linux/, "Linux"]];
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.slice(0, 40);
}

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(id, text) {
  $(id).textContent = text;
  $(id).hidden = !text;
}

async function loadSessions(user) {
  const answer = await api("GET", `/api/users/${encodeURIComponent(user.id)}/sessions`);
  if (answer.status === 401 || answer.status === 404) return showSignedOut(SESSION_ENDED);
  if (answer.status !== 200) return showError("sessions-error", plainMessage(answer));
  showError("sessions-error", "");
  const list = $("sessions-list");
  list.replaceChildren();
  for (const session of answer.body.sessions) {
    const item = element("li");
    item.dataset.sessionId = session.id;
    const text = element("div");
    const title = element("p", "item-title", describeDevice(session.user_agent));
    if (session.current) title.append(element("span", "badge", "This device"));
    text.append(title, element("p", "item-meta", `${session.address ?? "Unknown network"} · last active ${when(session.last_seen_at)}`));
    item.append(text);
    if (!session.current) {
      const end = element("button", "secondary", "Sign out");
      end.type = "button";
      end.setAttribute("aria-label", `Sign out ${describeDevice(session.user_agent)}, last active ${when(session.last_seen_at)}`);
      end.addEventListener("click", () => endSession(user, session, end));
      item.append(end);
    }
    list.append(item);
  }
  $("end-others-button").hidden = answer.body.sessions.length < 2;
}

async function endSession(user, session, button) {
  setStatus("");
  await withBusy(button, async () => {
    const path = `/api/users/${encodeURIComponent(user.id)}/sessions/${encodeURIComponent(session.id)}`;
    const answer = await api("DELETE", path);
    if (answer.status === 200 || answer.body?.message === "Session not found") {
      setStatus(`Signed out ${describeDevice(session.user_agent)}.`);
      await refreshActivity(user);
      $("sessions-heading").focus();
    } else if (answer.status === 401) {
      showSignedOut(SESSION_ENDED);
    } else {
      showError("sessions-error", plainMessage(answer));
    }
  });
}

async function endOtherSessions(event) {
  const user = account;
  if (!user) return;
  setStatus("");
  await withBusy(event.currentTarget, async () => {
    const answer = await api("DELETE", `/api/users/${encodeURIComponent(user.id)}/sessions`);
    if (answer.status === 200) {
      const ended = answer.body.ended;
      setStatus(ended === 1 ? "Signed out 1 other device." : `Signed out ${ended} other devices.`);
      await refreshActivity(user);
    } else if (answer.status === 401 || answer.status === 404) {
      showSignedOut(SESSION_ENDED);
    } else {
      showError("sessions-error", plainMessage(answer));
    }
  });
}

function eventText(event) {
  const words = EVENT_WORDS[event.type] ?? event.type;
  if (event.type === "email_changed" && event.detail?.old && event.detail?.new) {
    return `${words} from ${event.detail.old} to ${event.detail.new}`;
  }
  if (event.detail?.by === "admin") return `${words} by an administrator`;
  return words;
}

async function loadEvents(user) {
  const answer = await api("GET", `/api/users/${encodeURIComponent(user.id)}/events?limit=20`);
  if (answer.status !== 200) {
    if (answer.status !== 401 && answer.status !== 404) showError("events-error", plainMessage(answer));
    return;
  }
  showError("events-error", "");
  const list = $("events-list");
  list.replaceChildren();
  for (const event of answer.body.events) {
    const item = element("li");
    item.dataset.eventType = event.type;
    const text = element("div");
    const origin = [event.user_agent ? describeDevice(event.user_agent) : null, event.address].filter(Boolean).join(" · ");
    text.append(element("p", "item-title", eventText(event)), element("p", "item-meta", origin ? `${when(event.at)} · ${origin}` : when(event.at)));
    item.append(text);
    list.append(item);
  }
}

async function refreshActivity(user) {
  await loadSessions(user);
  if (account) await loadEvents(user);
}

document.addEventListener("account:signed-in", (event) => refreshActivity(event.detail));
document.addEventListener("DOMContentLoaded", () => {
  $("end-others-button").addEventListener("click", endOtherSessions);
});
