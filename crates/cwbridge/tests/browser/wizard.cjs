// Walks cwbridge's web wizard in headless Chromium, as the MSP admin of seed 004 would.
// Run by tests/wizard.rs, which starts `cwbridge demo`, passes what it printed in the
// environment, and afterwards checks through the sandbox's API what ConnectWise received.
//
//   PHASE=setup   sign in, the four steps (JavaScript off: the basics must work without it),
//                 then Apply on the billing page.
//   PHASE=status  alert deliveries (retry a failed one after mapping its customer),
//                 connection health, and the pages at phone width with JavaScript on.
//
// Screenshots of every step go to $SHOTS. Any failed expectation exits non-zero.
"use strict";
// playwright-core comes from NODE_PATH (.ci/run installs the version pinned in package.json).
const { chromium } = require("playwright-core");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
// axe-core, the accessibility rules engine, injected into pages to audit them.
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const WIZARD = env("WIZARD");
const TOKEN = env("TOKEN");
const SHOTS = env("SHOTS");
const PHASE = env("PHASE");

let browser;
const launch = () => chromium.launch({
  executablePath: env("CHROMIUM"),
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
});

const urls = [];
async function newPage(options) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on("request", (r) => urls.push(r.url()));
  return page;
}
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

// Every field a person fills has a label, and no page scrolls sideways.
async function checkPage(page) {
  const unlabelled = await page.$$eval(
    "input:not([type=hidden]), select, textarea",
    (els) => els.filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label")).map((e) => e.name || e.id),
  );
  assert.deepEqual(unlabelled, [], `fields without a label on ${page.url()}`);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(wide <= 1, `${page.url()} is ${wide}px wider than the window`);
}

// No serious or critical accessibility violations (WCAG 2.1 A and AA rules). Needs
// JavaScript on in the page.
async function audit(page) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
  });
  assert.deepEqual(violations, [], `accessibility problems on ${page.url()}`);
}

async function signIn(page) {
  await page.goto(`${WIZARD}/`);
  assert.match(page.url(), /\/sign-in$/);
  await page.getByLabel("Tenant token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${WIZARD}/`);
}

async function expectNotice(page, text) {
  await page.getByRole("status").filter({ hasText: text }).waitFor();
}

async function setup() {
  const page = await newPage({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });

  // Sign in: a wrong token is refused with a message; the right one opens the overview.
  await page.goto(`${WIZARD}/`);
  await page.getByLabel("Tenant token").fill("cwb_not-a-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That token is not valid").waitFor();
  await checkPage(page);
  await shot(page, "01-sign-in-refused");
  await page.getByLabel("Tenant token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${WIZARD}/`);
  await shot(page, "02-overview");

  // Later steps stay shut until the ones before them are done.
  await page.goto(`${WIZARD}/setup/tickets`);
  await page.getByText("opens once the steps before it are complete").waitFor();
  await page.goto(`${WIZARD}/`);
  await page.getByRole("link", { name: "Continue with step 1: Connect" }).click();

  // Step 1: a wrong private key is saved but fails the check, with the reason shown.
  await page.getByLabel("ConnectWise URL").fill(env("SITE"));
  await page.getByLabel("Company ID").fill(env("COMPANY"));
  await page.getByLabel("Public key").fill(env("PUBLIC_KEY"));
  await page.getByLabel("Private key").fill("wrong-private-key");
  await page.getByRole("button", { name: "Save and check" }).click();
  await expectNotice(page, "Connection saved, but the check failed");
  await page.getByRole("heading", { name: /Last check: failed/ }).waitFor();
  await shot(page, "03-connect-failed");
  await page.getByLabel("Private key").fill(env("PRIVATE_KEY"));
  await page.getByRole("button", { name: "Save and check" }).click();
  await expectNotice(page, "Connection saved and checked: it works");
  await page.getByRole("heading", { name: /Last check: passed/ }).waitFor();
  const missing = await page.locator("table.permissions tr.missing").count();
  assert.equal(missing, 0, "the demo's role has every permission");
  const granted = await page.locator("table.permissions .badge.granted").count();
  assert.ok(granted >= 10, `only ${granted} permissions shown as granted`);
  await checkPage(page);
  await shot(page, "04-connect-passed");
  await page.getByRole("link", { name: "Next: Billing & product" }).click();

  // Step 2: the catalog searched, the product, the default agreement, the billing type.
  await page.getByLabel("Search the product catalog").fill("DMARC");
  await page.getByRole("button", { name: "Search" }).click();
  const product = page.getByLabel("Product", { exact: true });
  const productValue = await product.locator("option", { hasText: "DMARC-MONITOR" }).getAttribute("value");
  await product.selectOption(productValue);
  await page.getByLabel("Default agreement").selectOption({ label: "Managed Services" });
  await page.getByLabel("Billable, one line per sending domain").check();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expectNotice(page, "Billing & product saved");
  await page.getByRole("heading", { name: "The plan" }).waitFor();
  await checkPage(page);
  await shot(page, "05-billing");
  await page.getByRole("link", { name: "Next: Customer mapping" }).click();

  // Step 3: accept the suggestions, then leave Evergreen PM unmapped.
  await page.getByRole("button", { name: "Accept all strong suggestions" }).click();
  await expectNotice(page, "Suggestions accepted");
  await page.getByLabel("Company for Evergreen PM").selectOption("");
  await page.getByRole("button", { name: "Save mapping" }).click();
  await expectNotice(page, "Mapping saved");
  assert.equal(await page.getByLabel("Company for Acme Corp").inputValue() !== "", true);
  assert.equal(await page.getByLabel("Company for Evergreen PM").inputValue(), "");
  await page.getByLabel("Agreement for Acme Corp").waitFor();
  await checkPage(page);
  await shot(page, "06-mapping");
  await page.getByRole("link", { name: "Next: Tickets & alerts" }).click();

  // Step 4: the ticket defaults (status and type of the chosen board), and Contoso forwards
  // only DMARC record changes.
  await page.getByLabel("Service board").selectOption({ label: "Help Desk" });
  const status = await page.locator('#status optgroup[label="Help Desk"] option', { hasText: /^New$/ }).getAttribute("value");
  await page.getByLabel("Ticket status").selectOption(status);
  await page.getByLabel("Ticket priority").selectOption({ label: "Priority 3 - Normal Response" });
  const type = await page.locator('#type optgroup[label="Help Desk"] option', { hasText: /^Alert$/ }).getAttribute("value");
  await page.getByLabel("Ticket type (optional)").selectOption(type);
  await page.getByLabel("Notes are written on behalf of").fill("EasyDMARC");
  await page.getByRole("button", { name: "Save ticket defaults" }).click();
  await expectNotice(page, "Ticket defaults saved");
  const contoso = page.getByRole("group", { name: "Contoso" });
  await contoso.getByLabel("Only the ones ticked:").check();
  for (const t of ["blocklisted", "dkim-record-missing", "spf-record-failing"]) {
    await contoso.getByLabel(t, { exact: true }).uncheck();
  }
  await page.getByRole("button", { name: "Save alert types" }).click();
  await expectNotice(page, "Alert types saved");
  assert.equal(await page.getByRole("group", { name: "Contoso" }).getByLabel("dmarc-record-changed").isChecked(), true);
  assert.equal(await page.getByRole("group", { name: "Contoso" }).getByLabel("spf-record-failing").isChecked(), false);
  await checkPage(page);
  await shot(page, "07-tickets");

  // Billing: the plan, then Apply.
  await page.getByRole("navigation").getByRole("link", { name: "Billing", exact: true }).click();
  await page.getByRole("heading", { name: "The plan" }).waitFor();
  assert.ok(await page.locator("table.plan .badge.create").count() >= 1, "the plan creates lines");
  await page.getByText("Evergreen PM").first().waitFor();
  await shot(page, "08-billing-plan");
  await page.getByRole("button", { name: "Apply", exact: true }).click();
  await expectNotice(page, "Billing applied");
  assert.ok(await page.locator(".badge.create").count() >= 1, "the run created lines");
  await shot(page, "09-billing-applied");
  await page.goto(`${WIZARD}/billing`);
  await page.getByText("ConnectWise already matches: nothing to change.").waitFor();
}

async function status() {
  const page = await newPage({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
  await signIn(page);

  // The failed alert (its customer was not mapped) has a Retry button; map the customer,
  // then retry it.
  await page.goto(`${WIZARD}/alerts`);
  await page.locator(".badge.delivered").first().waitFor();
  await page.locator(".badge.skipped").first().waitFor();
  const retry = page.getByRole("button", { name: /Retry alert/ });
  assert.equal(await retry.count(), 1, "one failed alert");
  await checkPage(page);
  await shot(page, "10-alerts-failed");
  await page.goto(`${WIZARD}/setup/mapping`);
  const evergreen = page.getByLabel("Company for Evergreen PM");
  const suggested = await evergreen.locator("option", { hasText: "Suggested:" }).first().getAttribute("value");
  await evergreen.selectOption(suggested);
  // Finding other companies keeps the choice and saves nothing yet.
  await page.getByLabel("Find a company to choose from").fill("Acme");
  await page.getByRole("button", { name: "Find", exact: true }).click();
  assert.equal(await page.getByLabel("Company for Evergreen PM").inputValue(), suggested);
  assert.equal(await page.getByText("(mapped)").count(), 5, "Evergreen PM is not saved by Find");
  await page.getByRole("button", { name: "Save mapping" }).click();
  await expectNotice(page, "Mapping saved");
  await page.goto(`${WIZARD}/alerts`);
  await page.getByRole("button", { name: /Retry alert/ }).click();
  await expectNotice(page, "The alert is queued again");
  await shot(page, "11-alerts-retried");

  // A test alert from step 4, to see a ticket arrive before any real alert fires.
  await page.goto(`${WIZARD}/setup/tickets`);
  await page.getByLabel("Customer", { exact: true }).selectOption({ label: "Blue Ridge Dental" });
  await page.getByRole("button", { name: "Send a test alert" }).click();
  await expectNotice(page, "Test alert sent");

  // Connection health: the last check, the version and codebase, and the 429 ConnectWise
  // answered meanwhile (retried) — but none of the check's own probes.
  await page.goto(`${WIZARD}/health`);
  await page.getByText("ConnectWise version").waitFor();
  const answers = page.getByRole("region", { name: "Recent ConnectWise answers" });
  await answers.getByText("rate limit").first().waitFor();
  assert.equal(await answers.locator("tbody tr").count(), 1, "only the 429, not the probes");
  await page.getByRole("button", { name: "Check now" }).click();
  await expectNotice(page, "Connection checked again");
  await page.getByRole("heading", { name: /Last check: passed/ }).waitFor();
  await checkPage(page);
  await shot(page, "12-health");

  // At phone width, with JavaScript: readable, accessible, and step 4 offers only the
  // board's statuses.
  const phone = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(`${WIZARD}/sign-in`);
  await audit(phone);
  await signIn(phone);
  for (const p of ["/", "/setup/connect", "/setup/billing", "/setup/mapping", "/setup/tickets", "/billing", "/alerts", "/health"]) {
    await phone.goto(`${WIZARD}${p}`);
    await checkPage(phone);
    await audit(phone);
  }
  await phone.goto(`${WIZARD}/`);
  await checkPage(phone);
  await shot(phone, "13-phone-overview");
  await phone.goto(`${WIZARD}/setup/tickets`);
  await phone.getByLabel("Service board").selectOption({ label: "Security Operations" });
  const hidden = await phone.$$eval("#status optgroup", (gs) => gs.filter((g) => g.hidden).map((g) => g.label));
  assert.ok(hidden.includes("Help Desk") && !hidden.includes("Security Operations"), `hidden groups: ${hidden}`);
  assert.equal(await phone.getByLabel("Ticket status").inputValue(), "", "a status of another board is cleared");
  await checkPage(phone);
  await shot(phone, "14-phone-tickets");
  await phone.goto(`${WIZARD}/setup/mapping`);
  await checkPage(phone);
  await shot(phone, "15-phone-mapping");

  // Signing out ends the session.
  await phone.getByRole("button", { name: "Sign out" }).click();
  await phone.waitForURL(/\/sign-in$/);
  await phone.goto(`${WIZARD}/billing`);
  assert.match(phone.url(), /\/sign-in/);
}

(async () => {
  browser = await launch();
  try {
    if (PHASE === "setup") await setup();
    else if (PHASE === "status") await status();
    else throw new Error(`unknown PHASE ${PHASE}`);
    assert.ok(!urls.some((u) => u.includes(TOKEN)), "the token appeared in a URL");
    console.log(`phase ${PHASE}: passed (${urls.length} requests)`);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
