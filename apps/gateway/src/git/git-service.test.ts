import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@isle/db";
import { createLogger } from "@isle/telemetry";
import { CachedTargetResolver } from "../invoke/target-resolver.js";
import { GitService } from "./git-service.js";

/** Calls the hook socket as the platform's hook program does; returns the answer's lines. */
function callHook(socketPath: string, body: unknown): Promise<Array<{ line?: string; exit?: number }>> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/pre-receive", method: "POST" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve(text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { line?: string; exit?: number })));
    });
    req.on("error", reject);
    req.end(typeof body === "string" ? body : JSON.stringify(body));
  });
}

describe("GitService hooks", () => {
  let dir: string;
  let database: Database;
  let git: GitService;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "isle-git-service-"));
    database = await openDatabase({ dataDir: join(dir, "db") });
    const logger = createLogger({ service: "gateway", level: "error", destination: new Writable({ write: (_c, _e, done) => done() }) });
    git = await GitService.start({
      root: join(dir, "git"),
      maxPackBytes: 1024 * 1024,
      maxSourceBytes: 1024 * 1024,
      db: database.db,
      resolver: new CachedTargetResolver(async () => undefined),
      limits: { maxBundleBytes: 1024 * 1024 },
      schedules: { minIntervalSeconds: 60 },
      domain: undefined,
      logger,
    });
  }, 60_000);
  afterAll(async () => {
    await git?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const socket = () => git.socketPath;

  it("refuses a hook call that names no push in progress", async () => {
    for (const token of ["", "0".repeat(64), 42]) {
      const answer = await callHook(socket(), { hook: "pre-receive", token, updates: `${"0".repeat(40)} ${"1".repeat(40)} refs/heads/main\n` });
      expect(answer).toEqual([{ line: "isle: unknown push" }, { exit: 1 }]);
    }
  });

  it("refuses malformed calls", async () => {
    expect(await callHook(socket(), "not json")).toEqual([{ line: "isle: malformed hook call" }, { exit: 1 }]);
  });
});
