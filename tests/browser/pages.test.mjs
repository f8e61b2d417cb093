// The pages in a real browser: Debian's Chromium driven by playwright-core against the server
// run.sh started (BASE_URL, ADMIN_USERNAME, ADMIN_PASSWORD).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL;
const ADMIN = process.env.ADMIN_USERNAME;
const PASSWORD = process.env.ADMIN_PASSWORD;
const SHOTS = process.env.SCREENSHOTS;
const origin = new URL(BASE).origin;
let browser;

before(async () => {
  // Playwright gives every launch a fresh temporary profile (its own --user-data-dir).
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => browser?.close());

/** A context that refuses and records any request to another origin, and a page in it that
 * records console errors and uncaught exceptions. */
async function open(path, { width = 1100, height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const foreign = [];
  await context.route("**", (route) => {
    const url = route.request().url();
    if (new URL(url).origin !== origin) {
      foreign.push(url);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(`${BASE}${path}`);
  return { context, page, errors, foreign };
}

function clean({ errors, foreign }, what) {
  assert.deepEqual(foreign, [], `${what} asked another origin`);
  assert.deepEqual(errors, [], `${what} logged errors`);
}

async function signIn(page) {
  await page.getByLabel("Username").fill(ADMIN);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout: 5000 }).catch(async (e) => {
    throw new Error(`not signed in: ${await page.locator("#login-error").textContent()} ${e}`);
  });
}

async function startQuery(page, name, donorId, message) {
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Donor ID").fill(donorId);
  await page.getByLabel("Your message").fill(message);
  await page.getByRole("button", { name: "Start" }).click();
  await page.getByLabel("Message", { exact: true }).waitFor();
}

const texts = (page) => page.locator("#conversation li .text").allTextContents();

test("every page loads with no error, nothing from elsewhere, and fits 360 px", async () => {
  for (const path of ["/", "/support", "/console", "/api/v1/docs"]) {
    for (const width of [1100, 360]) {
      const run = await open(path, { width });
      await run.page.waitForLoadState("networkidle");
      const icon = await run.page.request.get(`${BASE}/favicon.ico`);
      assert.equal(icon.status(), 200);
      if (path !== "/api/v1/docs") {
        const overflow = await run.page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
        assert.ok(overflow <= 0, `${path} scrolls sideways at ${width} px by ${overflow}`);
      }
      clean(run, `${path} at ${width} px`);
      await run.context.close();
    }
  }
  const home = await open("/");
  for (const [name, href] of [["Get support", "/support"], ["Staff console", "/console"], ["API documentation", "/api/v1/docs"]]) {
    assert.equal(await home.page.getByRole("link", { name }).getAttribute("href"), href);
  }
  await home.context.close();
});

test("a donor and an agent hold a live conversation", async () => {
  const staff = await open("/console");
  await signIn(staff.page);
  const donor = await open("/support");
  // Keyboard only: the first field has focus; Tab moves on; Enter in a field submits.
  await donor.page.keyboard.type("Ada Donor");
  await donor.page.keyboard.press("Tab");
  await donor.page.keyboard.type("D-100");
  await donor.page.keyboard.press("Tab");
  await donor.page.keyboard.type("Where is my receipt?");
  await donor.page.keyboard.press("Tab");
  await donor.page.keyboard.press("Enter");
  await donor.page.getByLabel("Message", { exact: true }).waitFor();

  // The new ticket appears in the queue by itself.
  const item = staff.page.getByRole("list", { name: "Queue" }).getByRole("button", { name: /Ada Donor/ });
  await item.click();
  await staff.page.getByRole("button", { name: "Accept" }).click();
  await staff.page.locator("#ticket-status", { hasText: "in progress" }).waitFor();
  await staff.page.locator("#conversation li", { hasText: "Where is my receipt?" }).waitFor();

  // Typing shows on the other side.
  await donor.page.getByLabel("Message", { exact: true }).pressSequentially("Hel");
  await staff.page.locator("#typing", { hasText: "typing" }).waitFor();
  await donor.page.getByLabel("Message", { exact: true }).fill("");

  await staff.page.getByLabel("Reply").pressSequentially("It");
  await donor.page.locator("#typing", { hasText: "Super Admin is typing" }).waitFor();
  await staff.page.getByLabel("Reply").fill("It is on its way.");
  await staff.page.getByRole("button", { name: "Send" }).click();
  await donor.page.locator("#conversation li", { hasText: "It is on its way." }).waitFor();

  await donor.page.getByLabel("Message", { exact: true }).fill("Thank you!");
  await donor.page.getByLabel("Message", { exact: true }).press("Enter");
  await staff.page.locator("#conversation li", { hasText: "Thank you!" }).waitFor();

  // An attachment: the agent downloads the donor's file.
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
  await donor.page.getByLabel("Attach files").setInputFiles({ name: "receipt.png", mimeType: "image/png", buffer: png });
  await donor.page.getByLabel("Message", { exact: true }).fill("the receipt");
  await donor.page.getByRole("button", { name: "Send" }).click();
  await staff.page.locator("#typing", { hasText: "Ada Donor is uploading receipt.png (100%)" }).waitFor();
  const file = staff.page.getByRole("button", { name: "Download receipt.png" });
  const [saved] = await Promise.all([staff.page.waitForEvent("download"), file.click()]);
  assert.equal(saved.suggestedFilename(), "receipt.png");
  assert.deepEqual(readFileSync(await saved.path()), png);

  await donor.page.getByRole("button", { name: "Request a call" }).click();
  await donor.page.getByRole("status").filter({ hasText: "Call requested" }).waitFor();

  // A reload returns to the same conversation, each message once.
  await donor.page.reload();
  await donor.page.locator("#conversation li", { hasText: "Thank you!" }).waitFor();
  assert.deepEqual(await texts(donor.page), ["Where is my receipt?", "It is on its way.", "Thank you!", "the receipt", "The donor requested an audio call"]);
  assert.deepEqual(await texts(staff.page), await texts(donor.page));
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await donor.page.setViewportSize({ width: 420, height: 760 });
    await donor.page.screenshot({ path: `${SHOTS}/support.png` });
    await staff.page.screenshot({ path: `${SHOTS}/console.png` });
    const home = await open("/", { width: 900, height: 500 });
    await home.page.screenshot({ path: `${SHOTS}/home.png` });
    await home.context.close();
  }

  await staff.page.getByRole("button", { name: "Resolve" }).click();
  await donor.page.locator("#status", { hasText: "resolved" }).waitFor();
  await donor.page.getByRole("button", { name: "Close my request" }).click();
  await donor.page.getByRole("button", { name: "Start a new request" }).waitFor();
  await staff.page.locator("#ticket-status", { hasText: "closed" }).waitFor();

  clean(donor, "/support");
  clean(staff, "/console");
  await donor.context.close();
  await staff.context.close();
});

test("a network cut loses nothing and shows nothing twice", async () => {
  const donor = await open("/support");
  await startQuery(donor.page, "Cut Donor", "D-200", "before the cut");
  const sockets = [];
  donor.page.on("websocket", (ws) => sockets.push(ws));
  const staff = await open("/console");
  await signIn(staff.page);
  await staff.page.getByRole("list", { name: "Queue" }).getByRole("button", { name: /Cut Donor/ }).click();
  await staff.page.locator("#conversation li", { hasText: "before the cut" }).waitFor();

  await donor.context.setOffline(true);
  // Offline emulation may leave an open socket be; drop it as a lost network would.
  await donor.page.evaluate(() => window.conciergeLive.drop());
  await donor.page.locator("#conn", { hasText: "Reconnecting" }).waitFor();

  const during = ["one", "two", "three", "four"];
  for (const text of during) {
    await staff.page.getByLabel("Reply").fill(text);
    await staff.page.getByRole("button", { name: "Send" }).click();
    await staff.page.locator("#conversation li", { hasText: new RegExp(`^.*${text}$`) }).waitFor();
  }
  // Nothing reached the donor while cut off: what follows comes from the resume.
  assert.deepEqual(await texts(donor.page), ["before the cut"]);
  await donor.context.setOffline(false);
  await donor.page.locator("#conn", { hasText: "Connected" }).waitFor();
  await donor.page.locator("#conversation li", { hasText: "four" }).waitFor();
  // Let any straggler arrive before counting.
  await donor.page.waitForTimeout(500);
  assert.deepEqual(await texts(donor.page), ["before the cut", ...during]);
  assert.ok(sockets.length >= 1, "the page opened a new socket");
  assert.equal(await donor.page.evaluate(() => window.conciergeLive.connections), 2);

  // The donor's side after the cut reaches staff too.
  await donor.page.getByLabel("Message", { exact: true }).fill("back again");
  await donor.page.getByRole("button", { name: "Send" }).click();
  await staff.page.locator("#conversation li", { hasText: "back again" }).waitFor();
  assert.deepEqual(await texts(staff.page), ["before the cut", ...during, "back again"]);

  // The staff room is not replayed: a console cut off lists the queue again when it is back.
  await staff.context.setOffline(true);
  await staff.page.evaluate(() => window.conciergeLive.drop());
  await staff.page.locator("#conn", { hasText: "Reconnecting" }).waitFor();
  const missed = await http("/donor-queries", { method: "POST", body: { donor: "While Away", donorId: "D-201", message: "hello?" } });
  await staff.page.waitForTimeout(1000);
  assert.equal(await staff.page.getByRole("list", { name: "Queue" }).getByRole("button", { name: /While Away/ }).count(), 0);
  await staff.context.setOffline(false);
  await staff.page.getByRole("list", { name: "Queue" }).getByRole("button", { name: new RegExp(`#${missed.id} While Away`) }).waitFor();

  // Back to the first ticket: its whole conversation again, once.
  await staff.page.getByRole("list", { name: "Queue" }).getByRole("button", { name: /While Away/ }).click();
  await staff.page.locator("#conversation li", { hasText: "hello?" }).waitFor();
  await staff.page.getByRole("list", { name: "Queue" }).getByRole("button", { name: /Cut Donor/ }).click();
  await staff.page.locator("#conversation li", { hasText: "back again" }).waitFor();
  assert.deepEqual(await texts(staff.page), ["before the cut", ...during, "back again"]);

  clean(donor, "/support");
  clean(staff, "/console");
  await donor.context.close();
  await staff.context.close();
});

async function http(path, { method = "GET", body, token } = {}) {
  const res = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

test("the console summarizes, reviews, transfers and filters the queue", async () => {
  const { accessToken } = await http("/auth/login", { method: "POST", body: { username: ADMIN, password: PASSWORD } });
  const agent = await http("/users", {
    method: "POST",
    token: accessToken,
    body: { username: "grace", name: "Grace Agent", password: "grace-password-1", role: "AGENT" },
  });
  const query = await http("/donor-queries", {
    method: "POST",
    body: { donor: "Filter Donor", donorId: "D-300", message: "I would like a refund for my donation, please." },
  });

  const staff = await open("/console");
  await signIn(staff.page);
  const queue = staff.page.getByRole("list", { name: "Queue" });
  // Accepted elsewhere while the console watches: opening it then replays the older events,
  // which must not overwrite the newer state.
  await queue.getByRole("button", { name: /Filter Donor/ }).waitFor();
  await http(`/donor-queries/${query.id}/accept`, { method: "PATCH", token: accessToken });
  await staff.page.waitForTimeout(300);
  await queue.getByRole("button", { name: /Filter Donor/ }).click();
  await staff.page.locator("#conversation li", { hasText: "refund" }).waitFor();
  await staff.page.waitForTimeout(300);
  assert.match(await staff.page.locator("#ticket-meta").textContent(), /assigned to you/);
  await staff.page.locator("#conversation li", { hasText: "refund" }).waitFor();

  await staff.page.getByRole("button", { name: "Summarize" }).click();
  await staff.page.locator("#summary").waitFor();
  assert.ok((await staff.page.locator("#summary-text").textContent()).length > 0);

  // QA: the analyzer flags the e-mail address in a reply; an admin approves the review.
  await staff.page.getByLabel("Reply").fill("Write to refunds@example.org and we will sort it out.");
  await staff.page.getByRole("button", { name: "Send" }).click();
  await staff.page.locator("#conversation li", { hasText: "refunds@example.org" }).waitFor();
  await staff.page.getByRole("button", { name: "Review last reply" }).click();
  const review = staff.page.locator("#reviews li", { hasText: "refunds@example.org" });
  await review.filter({ hasText: "pii email" }).filter({ hasText: "pending" }).waitFor();
  await review.getByRole("button", { name: "Approve" }).click();
  await review.filter({ hasText: "approved" }).waitFor();

  await staff.page.getByRole("button", { name: "Transfer" }).click();
  await staff.page.getByLabel("Transfer to").selectOption(String(agent.id));
  await staff.page.getByLabel("Note").fill("Refunds are Grace's");
  await staff.page.getByRole("button", { name: "Confirm transfer" }).click();
  await staff.page.locator("#ticket-status", { hasText: "transferred" }).waitFor();
  await staff.page.locator("#ticket-meta", { hasText: "assigned to Grace Agent" }).waitFor();

  await staff.page.getByLabel("Status").selectOption("TRANSFERRED");
  await queue.getByRole("button", { name: new RegExp(`#${query.id} `) }).waitFor();
  // Search finds the conversation by an inflection of its words, marks them, and opens it.
  await staff.page.getByRole("searchbox", { name: "Search" }).fill("refunds -nothing");
  await staff.page.getByRole("button", { name: "Find" }).click();
  const results = staff.page.getByRole("list", { name: "Search results" });
  const hit = results.getByRole("button", { name: new RegExp(`#${query.id} `) }).first();
  await hit.waitFor();
  assert.ok((await results.locator("mark").count()) > 0, "no highlighted word in the hits");
  await staff.page.getByRole("searchbox", { name: "Search" }).fill('"unclosed');
  await staff.page.getByRole("button", { name: "Find" }).click();
  await staff.page.locator("#search-error", { hasText: /./ }).waitFor();
  // That 422 was asked for: the browser logs it, and only it is taken off the page's errors.
  const asked = staff.errors.filter((e) => /422/.test(e));
  assert.ok(asked.length > 0, "the malformed search was not refused");
  staff.errors.splice(0, staff.errors.length, ...staff.errors.filter((e) => !/422/.test(e)));

  await staff.page.getByLabel("Status").selectOption("RESOLVED");
  await staff.page.locator("#queue-empty").waitFor();
  assert.equal(await queue.getByRole("button").count(), 0);

  // The whole desk, a ticket open, still fits a 360 px screen.
  await staff.page.setViewportSize({ width: 360, height: 740 });
  assert.ok(await staff.page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), "the console scrolls sideways at 360 px");
  if (SHOTS) await staff.page.screenshot({ path: `${SHOTS}/console-360.png`, fullPage: true });

  clean(staff, "/console");
  await staff.context.close();
});
