// Two-step verification on the account page in headless Chromium: turn
// TOTP on (QR code, key, confirming code computed by the otpauth library,
// recovery codes with a download link), log out, log in with the password
// and then a code; a stale challenge in the address asks to log in again.
//
// Environment: NEPTUN_BASE_URL (a server with default settings), and those
// of support.mjs.

import assert from "node:assert/strict";
import * as OTPAuth from "otpauth";
import {
  PHONE, assertAccessible, assertNoProblems, finish, launch, openPage, shot, signUp, step,
  unique,
} from "./support.mjs";

const BASE = process.env.NEPTUN_BASE_URL;
const browser = await launch();

/** The authenticator app: codes for the key the page showed. */
function authenticator(secret) {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: "SHA1",
    digits: 6,
    period: 30,
  });
}

await step("turning TOTP on, then logging in with the password and a code", async () => {
  const page = await openPage(browser);
  const email = `totp-${unique()}@example.com`;
  const password = "a passphrase for totp";
  await page.goto(`${BASE}/account`);
  await page.waitForSelector("#signed-out", { state: "visible" });
  await signUp(page, email, password);
  await page.waitForSelector("#totp-enrol-button", { state: "visible" });
  assert.equal(await page.textContent("#totp-state"), "Off.");

  await page.click("#totp-enrol-button");
  await page.waitForSelector("#totp-confirm-form", { state: "visible" });
  await page.waitForSelector("#totp-qr svg[role=img]");
  const secret = (await page.textContent("#totp-secret")).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  await assertAccessible(page, "enrolment");
  await shot(page, "totp-1-enrolment");

  const app = authenticator(secret);
  await page.fill("#totp-confirm-code", "000000" === app.generate() ? "111111" : "000000");
  await page.click("#totp-confirm-form button[type=submit]");
  await page.waitForSelector("#totp-confirm-code-error", { state: "visible" });
  await page.fill("#totp-confirm-code", app.generate());
  await page.click("#totp-confirm-form button[type=submit]");
  await page.waitForSelector("#totp-codes", { state: "visible" });
  const codes = await page.locator("#totp-codes-list li").allTextContents();
  assert.equal(codes.length, 10);
  codes.forEach((code) => assert.match(code, /^[a-z2-7]{5}-[a-z2-7]{5}$/));
  const download = await page.getAttribute("#totp-codes-download", "href");
  assert.ok(download.startsWith("data:text/plain"), download);
  assert.ok(decodeURIComponent(download).includes(codes[0]), "the download holds the codes");
  assert.equal(await page.textContent("#status"), "Two-step verification is on.");
  await assertAccessible(page, "recovery codes");
  await shot(page, "totp-2-recovery-codes");
  await page.click("#totp-codes-done");
  await page.waitForSelector("#totp-manage-form", { state: "visible" });
  assert.equal(await page.locator("#totp-codes-list li").count(), 0, "shown once");
  await page.waitForSelector('#events-list li[data-event-type="totp_enabled"]');

  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });
  await page.fill("#login-email", email);
  await page.fill("#login-password", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#second-factor-form", { state: "visible" });
  assert.ok(!(await page.locator("#sign-up-form").isVisible()), "the other forms step aside");
  assert.equal(await page.evaluate(() => document.activeElement.id), "second-factor-code");
  await assertAccessible(page, "second step");
  await shot(page, "totp-3-second-step");

  // The confirming code is spent; the app's next one is accepted early.
  await page.fill("#second-factor-code", app.generate({ timestamp: Date.now() + 30_000 }));
  await page.click("#second-factor-form button[type=submit]");
  await page.waitForSelector("#signed-in", { state: "visible" });
  assert.equal(await page.textContent("#account-email"), email);
  assert.equal(await page.textContent("#status"), "You are logged in.");
  await page.waitForSelector("#totp-manage-form", { state: "visible" });
  assertNoProblems(page);
  await page.context().close();
});

await step("a second step handed over in the address, once stale, asks to log in again", async () => {
  const page = await openPage(browser, { viewport: PHONE });
  await page.goto(`${BASE}/account?second_factor=stale-challenge`);
  await page.waitForSelector("#second-factor-form", { state: "visible" });
  assert.equal(new URL(page.url()).search, "", "the challenge leaves the address");
  await page.fill("#second-factor-code", "123456");
  await page.click("#second-factor-form button[type=submit]");
  await page.waitForSelector("#login-form-error", { state: "visible" });
  assert.match(await page.textContent("#login-form-error"), /Log in again/);
  assert.ok(!(await page.locator("#second-factor-form").isVisible()));
  await assertAccessible(page, "stale second step");
  assertNoProblems(page);
  await page.context().close();
});

await finish(browser);
