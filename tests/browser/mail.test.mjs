// The pages that need mail, end to end in headless Chromium, with the mail
// read from a real SMTP server (smtp-server) listening in this process:
// "Forgot password?" on the account page, and the undo page an email
// change's mail links to.
//
// Environment: NEPTUN_MAIL_URL (a server with --mail-url pointing at
// 127.0.0.1:NEPTUN_SMTP_PORT and --public-url at itself), NEPTUN_SMTP_PORT,
// and those of support.mjs.

import assert from "node:assert/strict";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import {
  DESKTOP, PHONE, assertAccessible, assertNoProblems, finish, launch, openPage, shot, signUp,
  step, unique, update, visible,
} from "./support.mjs";

const MAIL = process.env.NEPTUN_MAIL_URL;
const SMTP_PORT = Number.parseInt(process.env.NEPTUN_SMTP_PORT, 10);

/** Every mail received: {to: [address], subject, text}. */
const inbox = [];
const smtp = new SMTPServer({
  disabledCommands: ["AUTH", "STARTTLS"],
  logger: false,
  onData(stream, session, callback) {
    simpleParser(stream).then(
      (mail) => {
        const to = session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase());
        inbox.push({ to, subject: mail.subject ?? "", text: mail.text ?? "" });
        callback();
      },
      callback,
    );
  },
});
await new Promise((resolve, reject) => {
  smtp.once("error", reject);
  smtp.listen(SMTP_PORT, "127.0.0.1", resolve);
});

/** The first mail to `address` whose subject matches, taken out of the inbox. */
async function mailTo(address, subject, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const index = inbox.findIndex((mail) => mail.to.includes(address.toLowerCase()) && subject.test(mail.subject));
    if (index >= 0) return inbox.splice(index, 1)[0];
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${address} matching ${subject}; inbox: ${JSON.stringify(inbox.map((m) => [m.to, m.subject]))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The reset code of a "Your password reset code" mail (an indented line of digits). */
function codeIn(mail) {
  const match = mail.text.match(/^\s+(\d{5,8})\s*$/m);
  assert.ok(match, `a code in: ${mail.text}`);
  return match[1];
}

async function signedOutPage(options) {
  const page = await openPage(browser, options);
  await page.goto(`${MAIL}/account`);
  await page.waitForSelector("#signed-out", { state: "visible" });
  await page.waitForSelector("#forgot-button", { state: "visible" });
  return page;
}

async function askForCode(page, email) {
  await page.fill("#reset-request-email", email);
  await page.click("#reset-request-form button[type=submit]");
  await page.waitForSelector("#reset-code-form", { state: "visible" });
}

async function enterCode(page, code, password) {
  await page.fill("#reset-code-otp", code);
  await page.fill("#reset-code-password", password);
  await page.click("#reset-code-form button[type=submit]");
}

const browser = await launch();

await step("forgot password: a code by mail, a new password, then log in with it", async () => {
  const page = await signedOutPage();
  const email = `forgot-${unique()}@example.com`;
  await signUp(page, email, "forgotten passphrase");
  await page.click("#logout-button");
  await page.waitForSelector("#signed-out", { state: "visible" });

  await page.fill("#login-email", email);
  await page.click("#forgot-button");
  await page.waitForSelector("#reset-request-form", { state: "visible" });
  assert.ok(!(await visible(page, "#login-form")), "one task at a time");
  assert.equal(await page.inputValue("#reset-request-email"), email, "the address typed for login is kept");
  assert.equal(await page.evaluate(() => document.activeElement.id), "reset-request-email");
  await shot(page, "8-reset-request");

  await page.click("#reset-request-form button[type=submit]");
  await page.waitForSelector("#reset-code-form", { state: "visible" });
  assert.equal(
    await page.textContent("#status"),
    `If an account exists for ${email}, we sent a code to it. Enter it below with your new password.`,
  );
  assert.equal(await page.evaluate(() => document.activeElement.id), "reset-code-otp");
  const code = codeIn(await mailTo(email, /^Your password reset code$/));

  const wrong = code.replace(/.$/, (digit) => String((Number(digit) + 1) % 10));
  await enterCode(page, wrong, "remembered passphrase");
  await page.waitForSelector("#reset-code-otp-error", { state: "visible" });
  assert.equal(await page.textContent("#reset-code-otp-error"), "That code is wrong or has expired. Check the latest mail, or send a new code.");
  assert.equal(await page.getAttribute("#reset-code-otp", "aria-invalid"), "true");
  await enterCode(page, code, "short");
  await page.waitForSelector("#reset-code-password-error", { state: "visible" });
  assert.equal(await page.textContent("#reset-code-password-error"), "The new password needs at least 8 characters.");
  assert.ok(!(await visible(page, "#reset-code-otp-error")), "the old error is gone");
  await shot(page, "9-reset-code-error");

  await page.fill("#reset-code-password", "");
  await enterCode(page, code, "remembered passphrase");
  await page.waitForSelector("#login-form", { state: "visible" });
  assert.equal(await page.textContent("#status"), "Your password has been changed and every device was signed out. Log in with your new password.");
  assert.equal(await page.inputValue("#login-email"), email, "the login form is filled in");
  assert.equal(await page.evaluate(() => document.activeElement.id), "login-password");
  assert.ok(!(await visible(page, "#reset-code-form")));
  await mailTo(email, /^Your password was changed$/);

  await page.fill("#login-password", "remembered passphrase");
  await page.press("#login-password", "Enter");
  await page.waitForSelector("#signed-in", { state: "visible" });
  assert.equal(await page.textContent("#account-email"), email);
  assertNoProblems(page);
});

await step("forgot password: the same words for an address without an account, and no mail", async () => {
  const page = await signedOutPage({ viewport: PHONE });
  const nobody = `nobody-${unique()}@example.com`;
  await page.click("#forgot-button");
  await askForCode(page, nobody);
  assert.equal(
    await page.textContent("#status"),
    `If an account exists for ${nobody}, we sent a code to it. Enter it below with your new password.`,
  );
  await page.waitForTimeout(1500);
  assert.ok(!inbox.some((mail) => mail.to.includes(nobody)), "no mail to an unknown address");
  // Back to log in with the keyboard, and the reset offer is reached by Tab.
  await page.focus("#reset-code-form .reset-back");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#login-form", { state: "visible" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "forgot-button");
  await page.focus("#login-email");
  const reached = [];
  for (let i = 0; i < 3; i += 1) {
    await page.keyboard.press("Tab");
    reached.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim()));
  }
  assert.deepEqual(reached, ["login-password", "Log in", "forgot-button"]);
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "reset-request-email");
  assertNoProblems(page);
});

for (const [viewport, label] of [[PHONE, "360"], [DESKTOP, "1280"]]) {
  for (const colorScheme of ["light", "dark"]) {
    await step(`axe-core at ${label} px, ${colorScheme}: both reset steps and an inline error`, async () => {
      const page = await signedOutPage({ viewport, colorScheme });
      const name = `${label}-${colorScheme}`;
      await assertAccessible(page, `${name} signed out with reset`);
      await page.click("#forgot-button");
      await assertAccessible(page, `${name} reset request`);
      await page.click("#reset-have-code");
      await page.waitForSelector("#reset-code-form", { state: "visible" });
      await page.fill("#reset-code-email", `axe-${unique()}@example.com`);
      await enterCode(page, "", "short");
      await page.waitForSelector("#reset-code-password-error", { state: "visible" });
      assert.equal(await page.textContent("#reset-code-otp-error"), "Enter the code from the mail: digits only.");
      await assertAccessible(page, `${name} reset code with errors`);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= viewport.width, `no sideways scrolling at ${label} px (${scrollWidth})`);
      if (colorScheme === "dark" || label === "360") await shot(page, `10-reset-${name}`);
      assertNoProblems(page);
    });
  }
}

await step("undo: the old address comes back, every session ends, a code is mailed", async () => {
  const owner = await openPage(browser);
  const email = `owner-${unique()}@example.com`;
  const taken = `thief-${unique()}@example.com`;
  await owner.goto(`${MAIL}/account`);
  await owner.waitForSelector("#signed-out", { state: "visible" });
  await signUp(owner, email, "owner passphrase");
  await update(owner, { email: taken });
  await owner.waitForFunction((expected) => document.querySelector("#account-email").textContent === expected, taken);

  const notice = await mailTo(email, /email/i);
  assert.ok(!notice.text.includes(taken), "the new address is masked");
  const link = notice.text.match(/(\S+\/account\/undo-email-change\?token=\S+)/)?.[1];
  assert.ok(link?.startsWith(`${MAIL}/account/undo-email-change?token=`), `an undo link in: ${notice.text}`);

  // Another browser, as when the mail is opened on a phone.
  for (const colorScheme of ["light", "dark"]) {
    const preview = await openPage(browser, { viewport: PHONE, colorScheme });
    await preview.goto(link);
    await preview.waitForSelector("#undo-button", { state: "visible" });
    await assertAccessible(preview, `undo page 360 ${colorScheme}`);
    await shot(preview, `11-undo-offer-360-${colorScheme}`);
    await preview.context().close();
  }
  const phone = await openPage(browser, { viewport: PHONE });
  await phone.goto(link);
  await phone.waitForSelector("#undo-button", { state: "visible" });
  assert.match(await phone.textContent("#undo-offer"), /signs out every device/);
  await phone.focus("#undo-button");
  await phone.keyboard.press("Enter");
  await phone.waitForSelector("#undo-done", { state: "visible" });
  assert.equal(await phone.textContent("#undo-email"), email);
  assert.equal(await phone.evaluate(() => document.activeElement.id), "undo-done-heading");
  assert.ok(!(await visible(phone, "#undo-offer")));
  await assertAccessible(phone, "undo done 360");
  await shot(phone, "12-undo-done");

  await owner.reload();
  await owner.waitForSelector("#signed-out", { state: "visible" });

  // The code mailed with the undo sets a new password from the page the undo page links to.
  const code = codeIn(await mailTo(email, /^Your password reset code$/));
  await phone.click("#undo-continue");
  await phone.waitForSelector("#reset-code-form", { state: "visible" });
  assert.equal(await phone.evaluate(() => document.activeElement.id), "reset-code-email");
  await phone.fill("#reset-code-email", email);
  await enterCode(phone, code, "reclaimed passphrase");
  await phone.waitForSelector("#login-form", { state: "visible" });
  await phone.fill("#login-password", "reclaimed passphrase");
  await phone.click("#login-form button[type=submit]");
  await phone.waitForSelector("#signed-in", { state: "visible" });
  assert.equal(await phone.textContent("#account-email"), email);

  // The link works once.
  const again = await openPage(browser, { colorScheme: "dark" });
  await again.goto(link);
  await again.click("#undo-button");
  await again.waitForSelector("#undo-error", { state: "visible" });
  assert.match(await again.textContent("#undo-error"), /^This link has already been used or has expired\./);
  await assertAccessible(again, "undo error 1280 dark");
  await shot(again, "13-undo-used");
  for (const page of [owner, phone, again]) assertNoProblems(page);
});

await step("undo: a link without its token says so", async () => {
  const page = await openPage(browser);
  await page.goto(`${MAIL}/account/undo-email-change`);
  await page.waitForSelector("#undo-missing", { state: "visible" });
  assert.ok(!(await visible(page, "#undo-button")));
  await assertAccessible(page, "undo without token");
  assertNoProblems(page);
});

// Last: it spends this address's allowance of codes.
await step("forgot password: too many codes asked for, in plain words with the wait", async () => {
  const page = await signedOutPage();
  await page.click("#forgot-button");
  let text = "";
  for (let attempt = 0; attempt < 8 && !text.startsWith("Too many"); attempt += 1) {
    await page.fill("#reset-request-email", `many-${unique()}@example.com`);
    await page.click("#reset-request-form button[type=submit]");
    await page.waitForFunction(() => !document.querySelector("#reset-code-form").hidden
      || !document.querySelector("#reset-request-form-error").hidden);
    if (await visible(page, "#reset-code-form")) {
      await page.click("#reset-new-code");
    } else {
      text = await page.textContent("#reset-request-form-error");
    }
  }
  assert.match(text, /^Too many attempts\. Try again in \d+ (seconds?|minutes)\.$/);
  assertNoProblems(page);
});

smtp.close();
await finish(browser);
