import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Stack } from "../harness/stack.js";

/** Debian's chromium (scripts/setup.sh installs it); playwright-core brings no browser. */
const chromiumPath = "/usr/bin/chromium";

const version = (n: number) => `export default {
  fetch(request) {
    console.log("hello from v${n} " + new URL(request.url).pathname);
    return new Response("v${n} says hi");
  },
};
`;

interface DeploymentBody {
  id: string;
}

// The web console in a real browser against the whole stack: sign in with a key, find the
// function, invoke it from the form, follow the invocation to its logs, roll back.
describe("web console (headless chromium)", () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let key = "";
  const deployments: string[] = [];
  /** What the page did that a strict, offline console must never do. */
  const offences: string[] = [];

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run scripts/setup.sh as root (it installs Debian's chromium)`);
    [stack, browser] = await Promise.all([
      Stack.start({ databaseUrl: process.env.DATABASE_URL }),
      chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] }),
    ]);
    await stack.createTenant("acme");
    for (const n of [1, 2]) {
      const res = await stack.deploy("acme", "hello", { "index.ts": version(n) });
      expect(res.status, await res.clone().text()).toBe(201);
      deployments.push(((await res.json()) as DeploymentBody).id);
    }
    const res = await stack.operator("/v1/tenants/acme/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "console", scopes: ["read", "deploy", "invoke"] }),
    });
    key = ((await res.json()) as { key: string }).key;

    page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const origin = new URL(stack.baseUrl).origin;
    page.on("request", (req) => {
      if (new URL(req.url()).origin !== origin) offences.push(`request to another origin: ${req.url()}`);
    });
    page.on("response", (res) => {
      if (res.status() >= 400) offences.push(`${res.status()} for ${res.url()}`);
    });
    page.on("console", (msg) => {
      if (msg.type() === "error") offences.push(`console error: ${msg.text()}`);
    });
    page.on("pageerror", (err) => offences.push(`page error: ${err.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("signs in with an API key and lists the tenant's functions", async () => {
    const res = await page.goto(`${stack.baseUrl}/console`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("default-src 'self'");

    await page.locator("input[name=token]").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/console/t/acme/functions");
    expect(await page.getByTestId("who").textContent()).toContain("acme");
    const row = page.locator("table.functions tbody tr", { hasText: "hello" });
    await row.waitFor();
    expect(await row.textContent()).toContain(deployments[1]);
    expect(await row.textContent()).toContain("private");
  });

  it("opens the function, invokes it from the form and shows the equivalent curl without the key", async () => {
    await page.locator("table.functions").getByRole("link", { name: "hello" }).click();
    await page.waitForURL("**/console/t/acme/functions/hello");
    expect(await page.getByTestId("active-deployment").textContent()).toBe(deployments[1]);

    await page.getByLabel("path and query").fill("/greet?x=1");
    const curl = await page.getByTestId("curl").textContent();
    expect(curl).toBe(`curl '${stack.baseUrl}/fn/acme/hello/greet?x=1' -H "authorization: Bearer $ISLE_API_KEY"`);
    expect(await page.content()).not.toContain(key);

    await page.getByRole("button", { name: "Invoke" }).click();
    await page.getByTestId("invoke-result").waitFor();
    expect(await page.getByTestId("invoke-status").textContent()).toBe("200");
    expect(await page.getByTestId("invoke-body").textContent()).toBe("v2 says hi");
  });

  it("shows the invocation in the table and its logs on its page", async () => {
    const id = (await page.getByTestId("invoke-result").locator("a code").textContent()) ?? "";
    expect(id).toMatch(/^inv_/);
    // Records are written in batches: the table re-reads until the row is there.
    const link = page.locator("table.invocations").getByRole("link", { name: id });
    await link.waitFor();
    await link.click();
    await page.waitForURL(`**/invocations/${id}`);
    expect(await page.getByTestId("invocation-status").textContent()).toBe("succeeded");
    expect(await page.getByTestId("invocation-http-status").textContent()).toBe("200");
    await page.getByTestId("logs").waitFor();
    expect(await page.getByTestId("logs").textContent()).toContain("hello from v2 /greet");
  });

  it("rolls back to the first version, which then answers, its line arriving in the live log tail", async () => {
    await page.goBack();
    await page.waitForURL("**/console/t/acme/functions/hello");
    await page.locator("table.deployments tr[data-version='1']").getByRole("button", { name: "Roll back to this" }).click();
    await page.locator("table.deployments tr.active[data-version='1']").waitFor();
    await page.getByTestId("active-deployment").filter({ hasText: deployments[0] }).waitFor();

    // Follow the live logs first: v1's line can only arrive through the stream.
    await page.getByRole("button", { name: "Follow" }).click();
    await page.getByTestId("log-tail").filter({ hasText: "hello from v2 /greet" }).waitFor();
    await page.getByRole("button", { name: "Invoke" }).click();
    await page.getByTestId("invoke-body").filter({ hasText: "v1 says hi" }).waitFor();
    await page.getByTestId("log-tail").filter({ hasText: "hello from v1 /" }).waitFor();
    const active = await stack.operator("/v1/tenants/acme/functions/hello");
    expect(((await active.json()) as { activeDeploymentId: string }).activeDeploymentId).toBe(deployments[0]);
  });

  it("keeps the session across a reload of a client-side route, and lets the operator see tenants", async () => {
    await page.reload();
    await page.getByTestId("active-deployment").waitFor();
    expect(await page.getByTestId("who").textContent()).toContain("acme");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("input[name=token]").fill(stack.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/console/tenants");
    await page.getByRole("link", { name: "acme" }).click();
    await page.locator("table.functions").getByRole("link", { name: "hello" }).waitFor();
  });

  it("loaded nothing from elsewhere and broke no policy", () => {
    expect(offences).toEqual([]);
  });
});
