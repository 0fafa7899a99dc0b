// Passkeys on the account page in headless Chromium, with the DevTools
// virtual authenticator (CTAP2, internal, resident keys and user
// verification on): add a passkey, log out, sign in with the passkey
// alone, see it listed as used, delete it.
//
// Environment: NEPTUN_PASSKEYS_URL (a server with --passkeys on and its
// own --public-url), NEPTUN_SCREENSHOTS (a folder), CHROMIUM.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.NEPTUN_PASSKEYS_URL;
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

const devtools = await context.newCDPSession(page);
await devtools.send("WebAuthn.enable");
const { authenticatorId } = await devtools.send("WebAuthn.addVirtualAuthenticator", {
  options: {
    protocol: "ctap2",
    transport: "internal",
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    automaticPresenceSimulation: true,
  },
});

const shot = (name) => page.screenshot({ path: path.join(SHOTS, `passkeys-${name}.png`), fullPage: true });
const status = () => page.locator("#status").textContent();
let failed = false;

try {
  const email = `passkey-${Date.now().toString(36)}@example.com`;
  await page.goto(`${BASE}/account`);
  await page.waitForSelector("#signed-out", { state: "visible" });
  await page.waitForSelector("#passkey-login", { state: "visible" });
  await page.fill("#sign-up-email", email);
  await page.fill("#sign-up-password", "a passkey test passphrase");
  await page.click("#sign-up-form button[type=submit]");
  await page.waitForSelector("#passkeys-section", { state: "visible" });

  await page.fill("#passkey-name", "Test laptop");
  await page.click("#passkey-add-button");
  await page.waitForSelector("#passkeys-list li[data-passkey-id]");
  assert.match(await status(), /Passkey "Test laptop" added/);
  assert.match(await page.locator("#passkeys-list").textContent(), /Test laptop.*not used yet/s);
  const { credentials } = await devtools.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1, "the authenticator holds the new passkey");
  assert.equal(credentials[0].isResidentCredential, true);
  await page.waitForSelector('#events-list li[data-event-type="passkey_added"]');
  await shot("1-added");

  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });
  await page.click("#passkey-login-button");
  await page.waitForSelector("#signed-in", { state: "visible" });
  assert.equal(await page.locator("#account-email").textContent(), email);
  assert.match(await status(), /Signed in with your passkey/);
  await page.waitForSelector("#passkeys-list li[data-passkey-id]");
  assert.match(await page.locator("#passkeys-list").textContent(), /Test laptop.*last used/s);
  await page.waitForSelector('#events-list li[data-event-type="login"]');
  await shot("2-signed-in-with-passkey");

  await page.click('#passkeys-list li[data-passkey-id] button:has-text("Delete")');
  await page.waitForFunction(() => !document.querySelector("#passkeys-list li[data-passkey-id]"));
  assert.match(await status(), /Passkey "Test laptop" deleted/);
  await page.waitForSelector('#events-list li[data-event-type="passkey_removed"]');
  await shot("3-deleted");

  // The deleted passkey still on the device: signing in with it is refused in words.
  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });
  await page.click("#passkey-login-button");
  await page.waitForSelector("#passkey-login-error", { state: "visible" });
  assert.match(await page.locator("#passkey-login-error").textContent(), /not recognised/);
  assert.equal(await page.locator("#signed-in").isVisible(), false);
  await shot("4-refused");
  assert.deepEqual(problems, [], "no script errors or CSP violations");
  console.log("ok   passkeys: add, log out, sign in with the passkey, listed as used, delete, refused after");
} catch (error) {
  failed = true;
  console.log(`FAIL passkeys\n${error.stack ?? error}`);
  await shot("failure").catch(() => {});
}

await browser.close();
process.exit(failed ? 1 : 0);
