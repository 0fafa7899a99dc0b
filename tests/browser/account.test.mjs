// The account page end to end in headless Chromium: what the page shows
// after each step, keyboard use, axe-core at 360 and 1280 px, screenshots.
//
// Environment: NEPTUN_BASE_URL (a server with default settings),
// NEPTUN_STRICT_URL (one with --require-recent-auth 2s and a login limit of
// 3 a minute), and those of support.mjs. The mail-on server's pages
// (password reset, undo) are in mail.test.mjs.

import assert from "node:assert/strict";
import {
  DESKTOP, PHONE, assertAccessible, assertNoProblems, finish, launch, openPage, shot, signUp,
  step, unique, update, visible,
} from "./support.mjs";

const BASE = process.env.NEPTUN_BASE_URL;
const STRICT = process.env.NEPTUN_STRICT_URL;
const browser = await launch();

await step("the whole account flow, as the page shows it", async () => {
  const page = await openPage(browser);
  const email = `flow-${unique()}@example.com`;
  const newEmail = `moved-${unique()}@example.com`;

  await page.goto(`${BASE}/`);
  assert.equal(new URL(page.url()).pathname, "/account", "/ leads to the page");
  await page.waitForSelector("#signed-out", { state: "visible" });
  await page.waitForLoadState("networkidle");
  assert.ok(!(await visible(page, "#forgot-button")), "no password reset without mail");
  await shot(page, "1-signed-out");

  await signUp(page, email, "first passphrase");
  assert.equal(await page.textContent("#account-email"), email);
  assert.match(await page.textContent("#account-id"), /^[0-9a-f-]{36}$/);
  await shot(page, "2-signed-in");

  await update(page, { email: newEmail.toUpperCase() });
  await page.waitForFunction((expected) => document.querySelector("#account-email").textContent === expected, newEmail);
  assert.equal(await page.textContent("#status"), "Saved.");

  await update(page, { email: "not-an-email" });
  await page.waitForSelector("#update-email-error", { state: "visible" });
  assert.equal(await page.textContent("#update-email-error"), "Enter a valid email address, like name@example.com.");
  assert.equal(await page.textContent("#status"), "", "a new error clears the last success");
  assert.equal(await page.getAttribute("#update-email", "aria-invalid"), "true");
  assert.match(await page.getAttribute("#update-email", "aria-describedby"), /\bupdate-email-error\b/);
  assert.equal(await page.evaluate(() => document.activeElement.id), "update-email", "focus moves to the field");
  assert.equal(await page.textContent("#account-email"), newEmail, "nothing changed");
  await shot(page, "3-inline-error");

  await page.fill("#update-email", "");
  await update(page, { password: "short" });
  await page.waitForSelector("#update-password-error", { state: "visible" });
  assert.equal(await page.textContent("#update-password-error"), "The password needs at least 8 characters.");
  await page.fill("#update-password", "");
  await update(page, { password: "second passphrase" });
  await page.waitForFunction(() => document.querySelector("#status").textContent.startsWith("Saved."));
  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });
  assert.equal(await page.textContent("#status"), "You are logged out.");

  await page.fill("#login-email", newEmail);
  await page.fill("#login-password", "first passphrase");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#login-form-error", { state: "visible" });
  assert.equal(await page.textContent("#login-form-error"), "Wrong email or password.");

  await page.fill("#login-password", "second passphrase");
  await page.press("#login-password", "Enter");
  await page.waitForSelector("#signed-in", { state: "visible" });
  assert.equal(await page.textContent("#account-email"), newEmail);

  await page.click("#delete-button");
  assert.ok(await visible(page, "#delete-confirmation"), "a confirmation step first");
  assert.ok(await visible(page, "#signed-in"), "still signed in until confirmed");
  await shot(page, "4-delete-confirmation");
  await page.click("#delete-confirm");
  await page.waitForSelector("#signed-out", { state: "visible" });
  assert.equal(await page.textContent("#status"), "Your account has been deleted.");

  await page.fill("#login-email", newEmail);
  await page.fill("#login-password", "second passphrase");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#login-form-error", { state: "visible" });
  assertNoProblems(page);
});

await step("a session ended elsewhere shows the signed-out state", async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/account`);
  await page.waitForSelector("#signed-out", { state: "visible" });
  await signUp(page, `ended-${unique()}@example.com`, "some passphrase");
  // Another tab of the same browser logs out.
  const other = await page.context().newPage();
  await other.goto(`${BASE}/account`);
  await other.waitForSelector("#signed-in", { state: "visible" });
  await other.click("#logout-button");
  await other.waitForSelector("#signed-out", { state: "visible" });

  await update(page, { email: `later-${unique()}@example.com` });
  await page.waitForSelector("#signed-out", { state: "visible" });
  assert.equal(await page.textContent("#status"), "Your session has ended. Please log in again.");
  assertNoProblems(page);
});

await step("sessions: a device signed out from another browser is gone from both", async () => {
  const laptop = await openPage(browser);
  const email = `devices-${unique()}@example.com`;
  await laptop.goto(`${BASE}/account`);
  await laptop.waitForSelector("#signed-out", { state: "visible" });
  await signUp(laptop, email, "devices passphrase");
  // A second browser (its own cookies) signs in to the same account.
  const phone = await openPage(browser, { viewport: PHONE });
  await phone.goto(`${BASE}/account`);
  await phone.waitForSelector("#signed-out", { state: "visible" });
  await phone.fill("#login-email", email);
  await phone.fill("#login-password", "devices passphrase");
  await phone.click("#login-form button[type=submit]");
  await phone.waitForSelector("#signed-in", { state: "visible" });

  await laptop.reload();
  await laptop.waitForFunction(() => document.querySelectorAll("#sessions-list li").length === 2);
  const items = laptop.locator("#sessions-list li");
  assert.match(await items.nth(0).textContent(), /Chrome on Linux/);
  assert.match(await items.nth(0).textContent(), /127\.0\.0\.0\/24/);
  assert.match(await laptop.textContent("#sessions-list li:has(.badge)"), /This device/);
  await shot(laptop, "7-sessions");

  await laptop.click("#sessions-list li:not(:has(.badge)) button");
  await laptop.waitForFunction(() => document.querySelectorAll("#sessions-list li").length === 1);
  assert.match(await laptop.textContent("#status"), /^Signed out Chrome on Linux\.$/);
  assert.ok(!(await visible(laptop, "#end-others-button")), "nothing else to sign out");
  await laptop.waitForFunction(() => document.querySelector("#events-list li")?.dataset.eventType === "session_ended");
  assert.equal(await laptop.textContent("#events-list li:first-child .item-title"), "Signed out remotely");
  const history = await laptop.locator("#events-list li .item-title").allTextContents();
  assert.deepEqual(history, ["Signed out remotely", "Signed in", "Account created"]);

  // The phone learns at its next request that it was signed out.
  await phone.reload();
  await phone.waitForSelector("#signed-out", { state: "visible" });
  assertNoProblems(laptop);
  assertNoProblems(phone);
});

await step("keyboard only: every control is reached in order, with a visible focus", async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/account`);
  await page.waitForSelector("#signed-out", { state: "visible" });
  const reached = [];
  for (let i = 0; i < 6; i += 1) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      const style = getComputedStyle(element);
      return { id: element.id || element.textContent.trim(), outline: style.outlineStyle, width: style.outlineWidth };
    });
    assert.notEqual(focused.outline, "none", `focus is visible on ${focused.id}`);
    reached.push(focused.id);
  }
  assert.deepEqual(reached, [
    "login-email", "login-password", "Log in",
    "sign-up-email", "sign-up-password", "Create account",
  ]);

  // Sign up and delete with the keyboard alone.
  const email = `keys-${unique()}@example.com`;
  await page.focus("#sign-up-email");
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type("typed passphrase");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#signed-in", { state: "visible" });
  await page.focus("#delete-button");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "delete-cancel", "focus goes to the safe choice");
  await page.keyboard.press("Escape");
  assert.ok(!(await visible(page, "#delete-confirmation")), "Escape closes the confirmation");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#signed-out", { state: "visible" });
  assertNoProblems(page);
});

await step("password managers and paste are welcome", async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/account`);
  const autocomplete = await page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("input")].map((input) => [input.id, input.autocomplete])),
  );
  assert.deepEqual(autocomplete, {
    "login-email": "username",
    "login-password": "current-password",
    "sign-up-email": "email",
    "sign-up-password": "new-password",
    "update-email": "email",
    "update-password": "new-password",
    "update-current-password": "current-password",
    // The passkey section's, hidden while passkeys are off.
    "passkey-name": "off",
    "passkey-current-password": "current-password",
    // The provider link confirmation's, hidden while no provider is on.
    "link-current-password": "current-password",
    "reset-request-email": "username",
    "reset-code-email": "username",
    "reset-code-otp": "one-time-code",
    "reset-code-password": "new-password",
    // Two-step verification: the login's second step, and the panel.
    "second-factor-code": "one-time-code",
    "totp-enrol-current-password": "current-password",
    "totp-confirm-code": "one-time-code",
    "totp-manage-code": "one-time-code",
    "totp-manage-current-password": "current-password",
  });
  const labelled = await page.evaluate(() =>
    [...document.querySelectorAll("input")].every((input) => input.labels.length === 1),
  );
  assert.ok(labelled, "every input has its label");
  const blocked = await page.evaluate(() => {
    const event = new ClipboardEvent("paste", { bubbles: true, cancelable: true });
    return !document.querySelector("#sign-up-password").dispatchEvent(event);
  });
  assert.equal(blocked, false, "no script cancels a paste");
});

await step("recent authentication: the current password is asked for, then accepted", async () => {
  const page = await openPage(browser);
  await page.goto(`${STRICT}/account`);
  await page.waitForSelector("#signed-out", { state: "visible" });
  await signUp(page, `recent-${unique()}@example.com`, "strict passphrase");
  assert.ok(!(await visible(page, "#current-password-field")), "not asked at first");
  await page.waitForTimeout(2500);

  const newEmail = `recent-new-${unique()}@example.com`;
  await update(page, { email: newEmail });
  await page.waitForSelector("#current-password-field", { state: "visible" });
  assert.equal(await page.textContent("#update-current-password-error"), "Enter your current password to make this change.");
  assert.equal(await page.evaluate(() => document.activeElement.id), "update-current-password");
  await shot(page, "5-recent-authentication");

  await page.fill("#update-current-password", "strict passphrase");
  await page.click("#update-form button[type=submit]");
  await page.waitForFunction((expected) => document.querySelector("#account-email").textContent === expected, newEmail);
  assert.ok(!(await visible(page, "#current-password-field")), "hidden again once done");
  assertNoProblems(page);
});

await step("429 in plain words, with the wait", async () => {
  const page = await openPage(browser);
  await page.goto(`${STRICT}/account`);
  await page.waitForSelector("#signed-out", { state: "visible" });
  let text = "";
  for (let attempt = 0; attempt < 6 && !text.startsWith("Too many"); attempt += 1) {
    await page.fill("#login-email", "nobody@example.com");
    await page.fill("#login-password", "a wrong guess");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#login-form-error", { state: "visible" });
    text = await page.textContent("#login-form-error");
  }
  assert.match(text, /^Too many attempts\. Try again in \d+ (seconds?|minutes)\.$/);
});

for (const [viewport, label] of [[PHONE, "360"], [DESKTOP, "1280"]]) {
  for (const colorScheme of ["light", "dark"]) {
    await step(`axe-core at ${label} px, ${colorScheme}: signed out, signed in, inline error, confirmation`, async () => {
      const page = await openPage(browser, { viewport, colorScheme });
      const name = `${label}-${colorScheme}`;
      await page.goto(`${BASE}/account`);
      await page.waitForSelector("#signed-out", { state: "visible" });
      await assertAccessible(page, `${name} signed out`);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= viewport.width, `no sideways scrolling at ${label} px (${scrollWidth})`);

      await signUp(page, `axe-${unique()}@example.com`, "axe passphrase");
      await assertAccessible(page, `${name} signed in`);
      await update(page, { email: "still not an email" });
      await page.waitForSelector("#update-email-error", { state: "visible" });
      await assertAccessible(page, `${name} inline error`);
      await page.click("#delete-button");
      await assertAccessible(page, `${name} confirmation`);
      if (colorScheme === "dark" || label === "360") await shot(page, `6-${name}`);
      await page.click("#delete-confirm");
      await page.waitForSelector("#signed-out", { state: "visible" });
      assertNoProblems(page);
    });
  }
}

await finish(browser);
