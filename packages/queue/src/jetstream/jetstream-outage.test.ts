import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { Delivery } from "../types.js";
import { testId } from "../test-support/contract.js";
import { JetStreamQueue } from "./jetstream-queue.js";

/** A port nothing listens on: bound once by us, then released. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A NATS server of this test's own, so it can be killed without disturbing anyone else. */
class PrivateNats {
  process: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = spawn("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir], {
      stdio: "ignore",
    });
    await vi.waitFor(async () => expect(await accepting(this.port)).toBe(true), { timeout: 10_000, interval: 50 });
  }

  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGKILL");
    await once(child, "exit");
  }
}

const message = (tenantId = "ten_a") => ({ id: testId("inv"), tenantId, functionId: "fn_1", payload: { n: 1 } });

describe("JetStreamQueue when NATS is unreachable", () => {
  const queues: JetStreamQueue[] = [];
  const servers: PrivateNats[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close()));
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("rejects an enqueue with `unavailable` when nothing listens at NATS_URL", async () => {
    const queue = new JetStreamQueue({ url: `nats://127.0.0.1:${await freePort()}`, connectTimeoutMs: 1_000 });
    queues.push(queue);
    await expect(queue.enqueue(message())).rejects.toMatchObject({ code: "unavailable", status: 503 });
    // Every call tries again rather than remembering the failure.
    await expect(queue.enqueue(message())).rejects.toMatchObject({ code: "unavailable" });
    await expect(queue.depth()).rejects.toMatchObject({ code: "unavailable" });
  });

  it("rejects enqueues while its server is down, and keeps and delivers what it stored once it is back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "isle-nats-"));
    dirs.push(dir);
    const nats = new PrivateNats(await freePort(), dir);
    servers.push(nats);
    await nats.start();
    const queue = new JetStreamQueue({ url: nats.url, name: "outage", visibilityTimeoutMs: 1_000 });
    queues.push(queue);
    const stored = message();
    expect(await queue.enqueue(stored)).toEqual({ id: stored.id, duplicate: false });

    await nats.kill();
    await expect(queue.enqueue(message())).rejects.toMatchObject({ code: "unavailable" });

    await nats.start();
    const after = message();
    // The client reconnects by itself; until it has, enqueues keep failing fast.
    await vi.waitFor(async () => expect((await queue.enqueue(after)).id).toBe(after.id), {
      timeout: 10_000,
      interval: 200,
    });
    const seen: Delivery[] = [];
    const consumer = queue.consume(async (d) => {
      seen.push(d);
    });
    try {
      await vi.waitFor(() => expect(seen.map((d) => d.id).sort()).toEqual([stored.id, after.id].sort()), {
        timeout: 10_000,
        interval: 50,
      });
    } finally {
      await consumer.stop();
    }
  });
});
