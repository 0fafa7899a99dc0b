// Sign-in providers on the account page in headless Chromium, against a
// real OpenID Connect provider on loopback (tests/providers): "Sign in with
// corp" there and back, signed in with a new password-less account; then a
// provider account whose email belongs to a password account is linked only
// after that account's owner signs in and confirms.
//
// Environment: NEPTUN_PROVIDERS_URL (a server with --oidc corp=… and its own
// --public-url), NEPTUN_OIDC_CONTROL (the provider's control address),
// NEPTUN_SCREENSHOTS (a folder), CHROMIUM.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.NEPTUN_PROVIDERS_URL;
const CONTROL = process.env.NEPTUN_OIDC_CONTROL;
const SHOTS = process.env.NEPTUN_SCREENSHOTS;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const problems = [];
page.on("console", (message) => {
  if (message.type() === "error" && !/Failed to load resource/.test(message.text())) {
    problems.push(message.text());
  }
});
page.on("pageerror", (error) => problems.push(String(error)));

const shot = (name) => page.screenshot({ path: path.join(SHOTS, `providers-${name}.png`), fullPage: true });
const status = () => page.locator("#status").textContent();
const nextSignIn = (person) =>
  fetch(`${CONTROL}/next`, { method: "POST", body: JSON.stringify({ email_verified: true, ...person }) });
let failed = false;

try {
  const stamp = Date.now().toString(36);
  const newcomer = `newcomer-${stamp}@example.com`;
  await nextSignIn({ sub: `sub-${stamp}-1`, email: newcomer });
  await page.goto(`${BASE}/account`);
  await page.waitForSelector("#provider-login", { state: "visible" });
  await shot("1-signed-out");
  await page.click('#provider-links a:has-text("Sign in with corp")');
  await page.waitForSelector("#signed-in", { state: "visible" });
  assert.equal(await page.locator("#account-email").textContent(), newcomer);
  await page.waitForSelector("#identities-list li[data-identity-id]");
  assert.match(await page.locator("#identities-list").textContent(), new RegExp(newcomer));
  await page.waitForSelector('#events-list li[data-event-type="login"]');
  await shot("2-signed-in-with-corp");
  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });

  // A password account, and a provider account with its address.
  const owner = `owner-${stamp}@example.com`;
  const password = "a provider test passphrase";
  await page.fill("#sign-up-email", owner);
  await page.fill("#sign-up-password", password);
  await page.click("#sign-up-form button[type=submit]");
  await page.waitForSelector("#signed-in", { state: "visible" });
  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });
  await nextSignIn({ sub: `sub-${stamp}-2`, email: owner });
  await page.click('#provider-links a:has-text("Sign in with corp")');
  await page.waitForFunction(() => /Sign in to that account, then confirm the link/.test(document.querySelector("#status").textContent));
  assert.equal(await page.locator("#signed-in").isVisible(), false, "an email match signs nobody in");
  assert.equal(new URL(page.url()).search, "", "the landing query is cleared from the address bar");
  await shot("3-link-waits");
  await page.fill("#login-email", owner);
  await page.fill("#login-password", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#link-confirmation", { state: "visible" });
  await shot("4-confirm-link");
  await page.click("#link-confirm");
  await page.waitForSelector("#identities-list li[data-identity-id]");
  assert.match(await status(), /Your corp account is linked/);
  await page.waitForSelector('#events-list li[data-event-type="identity_linked"]');

  // Signed out, the provider alone now opens the owner's account.
  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });
  await page.click('#provider-links a:has-text("Sign in with corp")');
  await page.waitForSelector("#signed-in", { state: "visible" });
  assert.equal(await page.locator("#account-email").textContent(), owner);

  // Unlinking keeps the password as a way in.
  await page.click('#identities-list li[data-identity-id] button:has-text("Unlink")');
  await page.waitForFunction(() => !document.querySelector("#identities-list li[data-identity-id]"));
  assert.match(await status(), /corp is no longer linked/);
  await shot("5-unlinked");

  // A failed sign-in lands with words, not an error page.
  await page.goto(`${BASE}/account?error=oauth`);
  await page.waitForFunction(() => /did not work/.test(document.querySelector("#status").textContent));
  assert.deepEqual(problems, [], "no script errors or CSP violations");
  console.log("ok   providers: sign in with corp (new account), link by email only after the owner confirms, sign in, unlink");
} catch (error) {
  failed = true;
  console.log(`FAIL providers\n${error.stack ?? error}`);
  await shot("failure").catch(() => {});
}

await browser.close();
process.exit(failed ? 1 : 0);
