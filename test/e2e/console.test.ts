import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Stack } from "../harness/stack.js";

/** Debian's chromium (scripts/setup.sh installs it); playwright-core brings no browser. */
const chromiumPath = "/usr/bin/chromium";

const v1 = `export default {
  fetch(request) {
    console.log("hello from v1 " + new URL(request.url).pathname);
    return new Response("v1 says hi");
  },
};
`;

/** The stats routes came with a later gateway: an older one answers 404, and the console leaves them out. */
const isStatsUrl = (url: string) => /\/v1\/tenants\/[^/]+(\/functions\/[^/]+)?\/stats(\?|$)/.test(new URL(url).pathname + new URL(url).search);

interface DeploymentBody {
  id: string;
}

// The web console in a real browser against the whole stack: sign in with a key, find the
// function, deploy a new version from the template, invoke it from the form, follow the
// invocation to its logs, roll back; then, as the operator, the agents and the keys pages.
describe("web console (headless chromium)", () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let key = "";
  /** v1 from the API, then v2 deployed from the browser's template. */
  const deployments: string[] = [];
  /** Whether this gateway has the stats routes (200) or predates them (404). */
  let hasStats = false;
  /** What the page did that a strict, offline console must never do. */
  const offences: string[] = [];

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run scripts/setup.sh as root (it installs Debian's chromium)`);
    [stack, browser] = await Promise.all([
      Stack.start({ databaseUrl: process.env.DATABASE_URL }),
      chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] }),
    ]);
    await stack.createTenant("acme");
    const deployed = await stack.deploy("acme", "hello", { "index.ts": v1 });
    expect(deployed.status, await deployed.clone().text()).toBe(201);
    deployments.push(((await deployed.json()) as DeploymentBody).id);
    await stack.configure("acme", "hello", { env: { GREETING: "env-value-never-shown" } });
    const secret = await stack.operator("/v1/tenants/acme/functions/hello/secrets/DB_PASSWORD", {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "secret-value-never-shown",
    });
    expect(secret.status).toBeLessThan(300);
    const stats = await stack.operator("/v1/tenants/acme/functions/hello/stats?hours=24&buckets=24");
    expect([200, 404]).toContain(stats.status);
    hasStats = stats.status === 200;
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
      if (res.status() === 404 && !hasStats && isStatsUrl(res.url())) return;
      if (res.status() >= 400) offences.push(`${res.status()} for ${res.url()}`);
    });
    page.on("console", (msg) => {
      // Chromium reports every 4xx the page fetched as a console error; the stats 404s are expected.
      if (msg.type() === "error" && !(!hasStats && isStatsUrl(msg.location().url || "http://x/") && msg.text().includes("404"))) {
        offences.push(`console error: ${msg.text()} (${msg.location().url})`);
      }
    });
    page.on("pageerror", (err) => offences.push(`page error: ${err.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("signs in with an API key and lists the tenant's functions, with 24 h rates when the gateway counts them", async () => {
    const res = await page.goto(`${stack.baseUrl}/console`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("default-src 'self'");

    await page.locator("input[name=token]").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/console/t/acme/functions");
    expect(await page.getByTestId("who").textContent()).toContain("acme");
    const row = page.locator("table.functions tbody tr", { hasText: "hello" });
    await row.waitFor();
    expect(await row.textContent()).toContain(deployments[0]);
    expect(await row.textContent()).toContain("private");
    const rates = page.locator("table.functions th", { hasText: "Requests (24 h)" });
    if (hasStats) {
      await rates.waitFor();
      expect(await row.getByTestId("requests-24h").textContent()).toBe("0");
      expect(await row.getByTestId("error-rate-24h").textContent()).toBe("–");
    } else {
      expect(await rates.count()).toBe(0);
    }
  });

  it("opens the function, shows env and secret names but no values, and deploys a new version from the template", async () => {
    await page.locator("table.functions").getByRole("link", { name: "hello" }).click();
    await page.waitForURL("**/console/t/acme/functions/hello");
    expect(await page.getByTestId("active-deployment").textContent()).toBe(deployments[0]);
    expect(await page.getByTestId("env-names").textContent()).toBe("GREETING");
    // A read/deploy/invoke key may not list secrets: the page says so instead of failing.
    expect(await page.getByTestId("secret-names").textContent()).toContain("admin scope");
    expect(await page.content()).not.toContain("env-value-never-shown");

    await page.getByText("Deploy a new version from source").click();
    const source = page.getByLabel("source of index.ts");
    expect(await source.inputValue()).toContain('return new Response("hello")');
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    const deployed = page.getByTestId("deployed");
    await deployed.waitFor();
    const id = (await deployed.locator("code").textContent()) ?? "";
    expect(await deployed.textContent()).toContain("v2 is live");
    deployments.push(id);
    await page.getByTestId("active-deployment").filter({ hasText: id }).waitFor();
    await page.locator("table.deployments tr.active[data-version='2']").waitFor();
  });

  it("invokes the new version from the form and shows the equivalent curl without the key", async () => {
    await page.getByLabel("path and query").fill("/greet?x=1");
    const curl = await page.getByTestId("curl").textContent();
    expect(curl).toBe(`curl '${stack.baseUrl}/fn/acme/hello/greet?x=1' -H "authorization: Bearer $ISLE_API_KEY"`);
    expect(await page.content()).not.toContain(key);

    await page.getByRole("button", { name: "Invoke" }).click();
    await page.getByTestId("invoke-result").waitFor();
    expect(await page.getByTestId("invoke-status").textContent()).toBe("200");
    expect(await page.getByTestId("invoke-body").textContent()).toBe("hello");
  });

  it("shows the invocation in the table, its logs and its trace id on its page", async () => {
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
    expect(await page.getByTestId("logs").textContent()).toContain("hello from /greet");
    // Whatever the gateway recorded (or that it records no trace ids) is what the page says.
    const record = (await (await stack.operator(`/v1/tenants/acme/invocations/${id}`)).json()) as { traceId?: string | null };
    const shown = await page.getByTestId("invocation-trace-id").textContent();
    if (typeof record.traceId === "string") expect(shown).toBe(record.traceId);
    else expect(shown).toMatch(record.traceId === null ? /none recorded/ : /does not record/);
  });

  it("charts the last 24 h when the gateway has the stats route, and shows no chart otherwise", async () => {
    await page.goBack();
    await page.waitForURL("**/console/t/acme/functions/hello");
    await page.getByTestId("active-deployment").waitFor();
    if (hasStats) {
      await page.getByTestId("stats").waitFor();
      expect(await page.locator("svg.chart").count()).toBe(2);
      // The chart re-reads every few seconds: the invocation lands in a bucket.
      await page.getByTestId("stats-requests").filter({ hasNotText: /^0$/ }).waitFor();
      expect(await page.locator("svg.chart g[data-requests]").count()).toBe(24);
      return;
    }
    expect(await page.getByTestId("stats").count()).toBe(0);
    // This gateway predates the route: the charts are still drawn, under the page's policy, from
    // an answer of the route's documented shape put in its place.
    const hour = 3_600_000;
    const to = Date.now();
    const buckets = Array.from({ length: 24 }, (_, i) => ({
      start: new Date(to - (24 - i) * hour).toISOString(),
      requests: i % 3 === 0 ? 0 : i * 10,
      errors: i % 5 === 1 ? 2 : 0,
      p50Ms: i % 3 === 0 ? null : 5 + i,
      p95Ms: i % 3 === 0 ? null : 20 + 2 * i,
    }));
    const answer = { from: new Date(to - 24 * hour).toISOString(), to: new Date(to).toISOString(), bucketSeconds: 3600, totals: { requests: 1600, errors: 8, p50Ms: 12, p95Ms: 61 }, buckets };
    const pattern = "**/v1/tenants/acme/functions/hello/stats?*";
    await page.route(pattern, (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(answer) }));
    try {
      await page.reload();
      await page.getByTestId("stats").waitFor();
      expect(await page.getByTestId("stats-requests").textContent()).toBe("1600");
      expect(await page.getByTestId("stats-errors").textContent()).toBe("8 (0.5%)");
      expect(await page.locator("svg.chart g[data-requests]").count()).toBe(24);
      expect(await page.locator("svg.chart rect.bar-errors").count()).toBe(buckets.filter((b) => b.errors > 0).length);
      // A bucket without invocations lifts the pen: the p50 line is 8 strokes, not one through zeros.
      expect(((await page.locator("svg.chart path.line-p50").getAttribute("d")) ?? "").match(/M/g)).toHaveLength(8);
    } finally {
      await page.unroute(pattern);
    }
  });

  it("rolls back to the first version, which then answers, its line arriving in the live log tail", async () => {
    await page.locator("table.deployments tr[data-version='1']").getByRole("button", { name: "Roll back to this" }).click();
    await page.locator("table.deployments tr.active[data-version='1']").waitFor();
    await page.getByTestId("active-deployment").filter({ hasText: deployments[0] }).waitFor();

    // Follow the live logs first: v1's line can only arrive through the stream.
    await page.getByRole("button", { name: "Follow" }).click();
    await page.getByTestId("log-tail").filter({ hasText: "hello from /greet" }).waitFor();
    await page.getByRole("button", { name: "Invoke" }).click();
    await page.getByTestId("invoke-body").filter({ hasText: "v1 says hi" }).waitFor();
    await page.getByTestId("log-tail").filter({ hasText: "hello from v1 /" }).waitFor();
    const active = await stack.operator("/v1/tenants/acme/functions/hello");
    expect(((await active.json()) as { activeDeploymentId: string }).activeDeploymentId).toBe(deployments[0]);
  });

  it("keeps the session across a reload of a client-side route, and lets the operator see tenants and agents", async () => {
    await page.reload();
    await page.getByTestId("active-deployment").waitFor();
    expect(await page.getByTestId("who").textContent()).toContain("acme");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("input[name=token]").fill(stack.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/console/tenants");

    await page.getByRole("link", { name: "Agents" }).click();
    await page.waitForURL("**/console/agents");
    const agent = page.locator("table.agents tbody tr").first();
    await agent.waitFor();
    expect(await agent.getByTestId("agent-state").textContent()).toBe("healthy");
    expect(await agent.getByTestId("agent-load").textContent()).toMatch(/^ ?\d+ \/ \d+$/);

    await page.getByRole("link", { name: "Tenants" }).click();
    await page.getByRole("link", { name: "acme" }).click();
    await page.locator("table.functions").getByRole("link", { name: "hello" }).click();
    // The operator may list secret names; never their values.
    await page.getByTestId("secret-names").filter({ hasText: "DB_PASSWORD" }).waitFor();
    expect(await page.content()).not.toContain("secret-value-never-shown");
  });

  it("creates an API key, shows it once, and revokes it", async () => {
    await page.goBack();
    await page.getByRole("link", { name: "API keys of acme" }).click();
    await page.waitForURL("**/console/t/acme/keys");
    await page.locator("input[name=key-name]").fill("from-the-console");
    await page.locator("input[name=scope-invoke]").check();
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = (await page.getByTestId("new-key-secret").textContent()) ?? "";
    expect(secret).toMatch(/^isk_key_/);
    const newKey = secret.split("_").slice(1, 3).join("_");
    const row = page.locator(`table.keys tr[data-key='${newKey}']`);
    await row.waitFor();
    expect(await row.textContent()).toContain("read, invoke");
    // The new key works until it is revoked.
    expect((await fetch(`${stack.baseUrl}/v1/tenants/acme/functions`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);

    await page.getByRole("button", { name: "Done" }).click();
    expect(await page.content()).not.toContain(secret);
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Confirm revoke" }).click();
    await row.getByTestId("revoked-at").filter({ hasText: /\d/ }).waitFor();
    expect((await fetch(`${stack.baseUrl}/v1/tenants/acme/functions`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
  });

  it("loaded nothing from elsewhere and broke no policy", () => {
    expect(offences).toEqual([]);
  });
});
