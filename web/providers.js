// Sign-in providers: "Sign in with …" links on the signed-out view, the
// linked identities of a signed-in account (with unlinking), the link a
// provider sign-in left waiting (?link=NAME), and the words for a failed
// provider sign-in (?error=oauth). Shown only when the service has
// providers. Loaded after app.js and activity.js, whose helpers ($, api,
// plainMessage, withBusy, setStatus, showSignedOut, element, when,
// showError, refreshActivity, account) it uses.
"use strict";

let providers = [];
let pendingLink = null;

function providerName(id) {
  return providers.find((provider) => provider.id === id)?.name ?? id;
}

function identitiesPath(user, id) {
  const base = `/api/users/${encodeURIComponent(user.id)}/identities`;
  return id ? `${base}/${encodeURIComponent(id)}` : base;
}

/** Reads (and removes from the address bar) what a provider sign-in left in the query. */
function readLanding() {
  const url = new URL(window.location.href);
  const error = url.searchParams.get("error");
  pendingLink = url.searchParams.get("link");
  if (error === null && pendingLink === null) return;
  url.searchParams.delete("error");
  url.searchParams.delete("link");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  if (error === "oauth") {
    setStatus("Signing in with the provider did not work. Try again, or use another way to sign in.", true);
  }
}

function showProviderLinks() {
  const list = $("provider-links");
  list.replaceChildren();
  for (const provider of providers) {
    const item = element("li");
    const link = element("a", "button secondary", `Sign in with ${provider.name}`);
    link.href = provider.path;
    item.append(link);
    list.append(item);
  }
  $("provider-login").hidden = false;
}

function showPendingLink() {
  if (!pendingLink) return;
  const name = providerName(pendingLink);
  if (!account) {
    setStatus(`Your ${name} account uses the address of an existing account. Sign in to that account, then confirm the link.`);
    return;
  }
  $("link-provider-name").textContent = name;
  $("link-confirmation").hidden = false;
  $("link-confirm").focus();
}

async function confirmLink(event) {
  const user = account;
  if (!user) return;
  showError("link-error", "");
  await withBusy(event.currentTarget, async () => {
    const password = $("link-current-password").value;
    const answer = await api("POST", identitiesPath(user), password ? { current_password: password } : {});
    if (answer.status === 200) {
      pendingLink = null;
      $("link-confirmation").hidden = true;
      setStatus(`Your ${providerName(answer.body.identity.provider)} account is linked. You can now sign in with it.`);
      await loadIdentities(user);
      await refreshActivity(user);
    } else if (answer.status === 403 && answer.body?.message === "Recent authentication required") {
      $("link-current-password-field").hidden = false;
      $("link-current-password").focus();
      showError("link-error", "Enter your current password to link this account.");
    } else if (answer.status === 400 && answer.body?.data?.issues) {
      showError("link-error", "That is not your current password.");
    } else if (answer.status === 409) {
      showError("link-error", answer.body?.message === "Identity already linked"
        ? "That provider account is already linked to an account."
        : "The link expired. Sign in with the provider again to link it.");
    } else if (answer.status === 401) {
      showSignedOut(SESSION_ENDED);
    } else {
      showError("link-error", plainMessage(answer));
    }
  });
}

async function loadIdentities(user) {
  const answer = await api("GET", identitiesPath(user));
  if (answer.status === 401) return showSignedOut(SESSION_ENDED);
  if (answer.status !== 200) return showError("identities-error", plainMessage(answer));
  const list = $("identities-list");
  list.replaceChildren();
  if (answer.body.identities.length === 0) {
    list.append(element("li", "item-meta", "No linked accounts. Sign out and use a \"Sign in with\" button, or follow one below."));
  }
  for (const identity of answer.body.identities) {
    const item = element("li");
    item.dataset.identityId = identity.id;
    const text = element("div");
    const name = providerName(identity.provider);
    text.append(element("p", "item-title", name), element("p", "item-meta", `${identity.email} · linked ${when(identity.created_at)}`));
    const remove = element("button", "danger-outline", "Unlink");
    remove.type = "button";
    remove.setAttribute("aria-label", `Unlink ${name} (${identity.email})`);
    remove.addEventListener("click", () => unlink(user, identity, remove));
    item.append(text, remove);
    list.append(item);
  }
  const links = $("identity-add-links");
  links.replaceChildren();
  for (const provider of providers) {
    const link = element("a", "button secondary", `Link ${provider.name}`);
    link.href = provider.path;
    links.append(link);
  }
}

async function unlink(user, identity, button) {
  setStatus("");
  showError("identities-error", "");
  await withBusy(button, async () => {
    const answer = await api("DELETE", identitiesPath(user, identity.id));
    if (answer.status === 200 || answer.status === 404) {
      setStatus(`${providerName(identity.provider)} is no longer linked.`);
      await loadIdentities(user);
      await refreshActivity(user);
      $("identities-heading").focus();
    } else if (answer.status === 409) {
      showError("identities-error", "This is your only way to sign in. Set a password or add a passkey first.");
    } else if (answer.status === 401) {
      showSignedOut(SESSION_ENDED);
    } else {
      showError("identities-error", plainMessage(answer));
    }
  });
}

EVENT_WORDS.identity_linked = "Account linked";
EVENT_WORDS.identity_unlinked = "Account unlinked";

document.addEventListener("account:signed-in", (event) => {
  if (providers.length === 0) return;
  loadIdentities(event.detail);
  showPendingLink();
});
document.addEventListener("DOMContentLoaded", async () => {
  readLanding();
  const answer = await api("GET", "/api/auth/providers");
  providers = answer.status === 200 ? answer.body.providers : [];
  if (providers.length === 0) return;
  showProviderLinks();
  $("identities-section").hidden = false;
  $("link-confirm").addEventListener("click", confirmLink);
  $("link-cancel").addEventListener("click", () => {
    pendingLink = null;
    $("link-confirmation").hidden = true;
  });
  if (account) {
    await loadIdentities(account);
  }
  showPendingLink();
});
