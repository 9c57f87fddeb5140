import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture } from "../harness/fixtures.js";
import { OtlpReceiver } from "../harness/otlp-receiver.js";
import { freePort } from "../harness/ports.js";
import { waitUntil } from "../harness/processes.js";
import { Stack } from "../harness/stack.js";

/** What the `scheduled` fixture logs for each invocation. */
interface Seen {
  schedule: string | null;
  scheduledAt: string | null;
  invocationId: string;
  attempt: string;
  method: string;
  path: string;
  query: string;
  kind: string | null;
  body: string;
}

interface InvocationRecord {
  id: string;
  trigger: string;
  mode: string;
  status: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("scheduled invocations", () => {
  let stack: Stack;
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    stack = await Stack.start({
      databaseUrl: process.env.DATABASE_URL,
      workerdProcesses: 1,
      commonEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_BSP_SCHEDULE_DELAY: "50" },
      // Per-second schedules keep the test short; the platform's default allows one run a minute.
      env: { gateway: { ISLE_SCHEDULE_MIN_INTERVAL_S: "1", ISLE_SCHEDULE_POLL_MS: "200" } },
    });
    await stack.createTenant("acme");
    expect((await stack.deploy("acme", "ticker", fixture("scheduled"))).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  const putSchedules = (fn: string, schedules: unknown[]) =>
    stack.operator(`/v1/tenants/acme/functions/${fn}/schedules`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ schedules }),
    });
  /** What the function logged, one entry per invocation that ran. */
  const seenBy = async (fn: string): Promise<Seen[]> => {
    const res = await stack.operator(`/v1/tenants/acme/functions/${fn}/logs?limit=100`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { lines: Array<{ message: string }> }).lines.map((line) => JSON.parse(line.message) as Seen);
  };
  const recordsOf = async (fn: string): Promise<InvocationRecord[]> => {
    const res = await stack.operator(`/v1/tenants/acme/invocations?function=${fn}&limit=500`);
    return ((await res.json()) as { invocations: InvocationRecord[] }).invocations;
  };

  it("runs a per-second schedule as timer invocations that see their schedule and tick, and stops once it is deleted", async () => {
    const res = await putSchedules("ticker", [
      { name: "every-second", cron: "* * * * * *", method: "PUT", path: "/tick?from=cron", headers: { "x-kind": "tick" }, body: "payload" },
    ]);
    expect(res.status).toBe(200);
    const [view] = ((await res.json()) as { schedules: Array<{ nextRunAt: string }> }).schedules;
    expect(new Date(view!.nextRunAt).getTime() - Date.now()).toBeLessThanOrEqual(1000);

    await waitUntil(async () => (await seenBy("ticker")).length >= 3, 20_000, "three ticks to run");
    const seen = await seenBy("ticker");
    for (const s of seen) {
      expect(s).toMatchObject({ schedule: "every-second", attempt: "1", method: "PUT", path: "/tick", query: "?from=cron", kind: "tick", body: "payload" });
      expect(s.scheduledAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    }
    const ticks = seen.map((s) => s.scheduledAt);
    expect(new Set(ticks).size).toBe(ticks.length);
    const records = await recordsOf("ticker");
    for (const s of seen) expect(records.find((r) => r.id === s.invocationId)).toMatchObject({ trigger: "timer", mode: "async", status: "succeeded" });

    // The sidecar's and the agent's spans of a tick say what started it.
    const traced = (service: string) => receiver.spans.find((span) => span.service === service && span.attributes["faas.invocation_id"] === seen[0]!.invocationId);
    await waitUntil(() => traced("isle-sidecar") !== undefined && traced("isle-agent") !== undefined, 10_000, "the tick's spans");
    for (const service of ["isle-sidecar", "isle-agent"]) expect(traced(service)!.attributes["faas.trigger"], service).toBe("timer");

    const listed = await stack.operator("/v1/tenants/acme/functions/ticker/schedules");
    const [schedule] = ((await listed.json()) as { schedules: Array<{ lastRunAt: string | null; lastInvocationId: string | null }> }).schedules;
    expect(schedule!.lastRunAt).not.toBeNull();
    expect(records.map((r) => r.id)).toContain(schedule!.lastInvocationId);

    expect((await putSchedules("ticker", [])).status).toBe(200);
    // Ticks enqueued before the delete still run; after that, nothing more comes.
    await sleep(1500);
    const settled = (await recordsOf("ticker")).length;
    await sleep(2500);
    expect((await recordsOf("ticker")).length).toBe(settled);
  });

  // Two gateways on one Postgres, both running their scheduler. The second has no agent, so it
  // gets a queue of its own: then nothing but the claim keeps a tick from being enqueued by both
  // (idempotency keys are per queue), and the ticks it enqueues stay in its queue to be counted.
  describe.skipIf(!process.env.DATABASE_URL)("with two gateways (postgres)", () => {
    let second: ChildProcess | undefined;
    let secondDir = "";
    beforeAll(async () => {
      expect((await stack.deploy("acme", "fanout", fixture("scheduled"))).status).toBe(201);
      secondDir = mkdtempSync(join(tmpdir(), "isle-e2e-gw2-"));
      const port = await freePort();
      second = spawn(process.execPath, [resolve(import.meta.dirname, "../../apps/gateway/dist/main.js")], {
        env: {
          ...process.env,
          DATABASE_URL: stack.envs.get("gateway")!.DATABASE_URL,
          ISLE_DATA_DIR: secondDir,
          ISLE_PORT: String(port),
          ISLE_CONTROL_PORT: String(await freePort()),
          ISLE_QUEUE_NAME: "second-gateway",
          ISLE_SCHEDULE_POLL_MS: "200",
          ISLE_LOG_LEVEL: "warn",
        },
        stdio: "ignore",
      });
      await waitUntil(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30_000, "the second gateway");
    });
    afterAll(() => {
      second?.kill("SIGKILL");
      if (secondDir) rmSync(secondDir, { recursive: true, force: true });
    });

    it("enqueues each tick once, whichever gateway claims it", async () => {
      const schedules = ["a", "b", "c"].map((name) => ({ name, cron: "* * * * * *" }));
      const enqueued = () =>
        stack.query(
          "select queue, idempotency_key from queue_messages where idempotency_key like 'schedule:%' and function_id = (select id from functions where name = 'fanout')",
        );
      const perQueue = (rows: Array<{ queue?: unknown }>) => {
        const counts: Record<string, number> = {};
        for (const row of rows) counts[String(row.queue)] = (counts[String(row.queue)] ?? 0) + 1;
        return counts;
      };
      expect((await putSchedules("fanout", schedules)).status).toBe(200);
      // Until both schedulers have claimed ticks (which one wins a tick is chance) and a few seconds passed.
      await waitUntil(
        async () => {
          const counts = perQueue(await enqueued());
          return (counts["invocations"] ?? 0) > 0 && (counts["second-gateway"] ?? 0) > 0 && (counts["invocations"] ?? 0) + (counts["second-gateway"] ?? 0) >= 9;
        },
        20_000,
        "ticks enqueued by both gateways",
      );
      expect((await putSchedules("fanout", [])).status).toBe(200);
      await sleep(500);

      const rows = await enqueued();
      console.log(`ticks enqueued per gateway's queue: ${JSON.stringify(perQueue(rows))}`);
      const keys = rows.map((row) => String(row.idempotency_key));
      expect(keys.length - new Set(keys).size).toBe(0);
      // One record per enqueued tick, whichever gateway wrote it.
      expect((await recordsOf("fanout")).filter((r) => r.trigger === "timer")).toHaveLength(rows.length);
    });
  });
});
