// What every browser test file shares: numbered steps that report and
// count failures, pages that fail on CSP violations and script errors,
// screenshots, axe-core, and the account page's common moves.
//
// Environment: NEPTUN_SCREENSHOTS (a folder), CHROMIUM (the executable).

import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const SHOTS = process.env.NEPTUN_SCREENSHOTS;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 360, height: 780 };

mkdirSync(SHOTS, { recursive: true });
export const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

let failures = 0;
export async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}\n${error.stack ?? error}`);
  }
}

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

/** Closes the browser and exits 1 if any step failed. */
export async function finish(browser) {
  await browser.close();
  if (failures > 0) {
    console.log(`${failures} browser step(s) failed`);
    process.exit(1);
  }
  console.log(`screenshots in ${SHOTS}`);
}

/** A page that fails the run on any CSP violation or script error. */
export async function openPage(browser, { viewport = DESKTOP, colorScheme = "light" } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !/Failed to load resource/.test(message.text())) {
      page.problems.push(message.text());
    }
  });
  page.on("pageerror", (error) => page.problems.push(String(error)));
  return page;
}

export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], "no script errors or CSP violations");
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function assertAccessible(page, label) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"] }),
  );
  const serious = results.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  const summary = serious.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(summary, [], `axe at ${label}`);
}

export const visible = (page, selector) => page.locator(selector).isVisible();

export async function signUp(page, email, password) {
  await page.fill("#sign-up-email", email);
  await page.fill("#sign-up-password", password);
  await page.click("#sign-up-form button[type=submit]");
  await page.waitForSelector("#signed-in", { state: "visible" });
}

export async function update(page, fields) {
  for (const [field, value] of Object.entries(fields)) {
    await page.fill(`#update-${field}`, value);
  }
  await page.click("#update-form button[type=submit]");
}
