import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { CidrList } from "@isle/config";
import { findApiKeyById, openDatabase, saveInvocation, type Database } from "@isle/db";
import { seedPgliteDataDir } from "@isle/db/testing";
import { createQueue } from "@isle/queue";
import { createLogger } from "@isle/telemetry";
import { createApp, type AppDeps } from "../app.js";
import { ApiKeyVerifier } from "../auth/api-keys.js";
import { Membership } from "../control/membership.js";
import { InvocationRecorder } from "../invoke/invocation-recorder.js";
import { LogFeed } from "../logs/log-feed.js";
import { OutlierDetector } from "../invoke/outlier-detector.js";
import { CachedTargetResolver, resolveTarget } from "../invoke/target-resolver.js";
import { CallTokens } from "../invoke/call-token.js";
import type { RateDefaults } from "../rate-limit/invoke-rate-limit.js";
import { MemoryRateLimiter } from "../rate-limit/memory-rate-limiter.js";
import type { RateLimiter } from "../rate-limit/rate-limiter.js";
import { SecretBox } from "../secrets/secret-box.js";

/** The operator token of every test gateway. */
export const operatorToken = "operator-token-for-route-tests";

/**
 * A gateway app over a fresh PGlite database (a copy of the test run's migrated one), with no agents (management routes only), its
 * log lines captured, and helpers that speak the API as the operator or as a key.
 */
export interface TestGateway {
  app: ReturnType<typeof createApp>;
  database: Database;
  secretBox: SecretBox;
  /** Empty until a test reports an agent (invokes answer 503 until then). */
  membership: Membership;
  /** Every line the gateway logged, raw JSON. */
  logs: string[];
  /** Records nothing (no database writes); its feed is what log followers read. */
  recorder: InvocationRecorder;
  /** Sends a request with `credential` as Bearer (none when undefined). */
  request(path: string, init?: RequestInit & { json?: unknown }, credential?: string): Promise<Response>;
  operator(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  createTenant(name: string): Promise<{ id: string; name: string }>;
  createKey(tenant: string, body: Record<string, unknown>): Promise<{ id: string; key: string }>;
  /** Multipart deploy of `files` (path → source). */
  deploy(tenant: string, fn: string, files: Record<string, string>, credential?: string): Promise<Response>;
  close(): Promise<void>;
}

/** Generous enough that no route test meets them unless it sets its own. */
const testRateDefaults: RateDefaults = { tenant: { rate: 10_000, burst: 10_000 }, key: { rate: 10_000, burst: 10_000 } };

export async function startTestGateway(
  options: {
    maxUploadBytes?: number;
    invoker?: AppDeps["invoker"];
    rateLimiter?: RateLimiter;
    rateDefaults?: RateDefaults;
    /** Async routes over this queue; default: a table queue on the test's database. */
    async?: (database: Database) => AppDeps["async"];
    /** Keep-alive period of log followers. */
    logHeartbeatMs?: number;
    /** Serves authorised git requests; without it there are no /git routes. */
    git?: AppDeps["git"];
  } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), "isle-routes-"));
  await seedPgliteDataDir(dir);
  const database = await openDatabase({ dataDir: dir });
  const db = database.db;
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const membership = new Membership();
  const secretBox = new SecretBox(randomBytes(32));
  const logger = createLogger({ service: "gateway", level: "debug", destination });
  const asyncSetup = options.async?.(database) ?? {
    queue: createQueue({ database, name: "route-tests" }),
    saveRecord: (row) => saveInvocation(db, row),
    callbackAllow: CidrList.parse(""),
  };
  const recorder = new InvocationRecorder(async () => undefined, logger, {
    feed: new LogFeed(logger, { heartbeatMs: options.logHeartbeatMs }),
  });
  const app = createApp({
    db,
    resolver: new CachedTargetResolver((t, f, b) => resolveTarget(db, t, f, b), 0),
    membership,
    invoker: options.invoker ?? {
      invoke: async () => ({ response: new Response("unused"), coldStart: false, outcome: Promise.resolve({ errorCode: undefined, fault: undefined }) }),
      close: () => undefined,
    },
    recorder,
    domain: undefined,
    readiness: { database: async () => undefined, healthyAgents: () => 0 },
    adminToken: operatorToken,
    limits: { maxUploadBytes: options.maxUploadBytes ?? 256 * 1024, maxBundleBytes: 1024 * 1024 },
    logger,
    secretBox,
    callTokens: new CallTokens(randomBytes(32)),
    outliers: new OutlierDetector(),
    verifier: new ApiKeyVerifier((id) => findApiKeyById(db, id)),
    rateLimiter: options.rateLimiter ?? new MemoryRateLimiter(),
    rateDefaults: options.rateDefaults ?? testRateDefaults,
    async: asyncSetup,
    ...(options.git ? { git: options.git } : {}),
  });

  const request: TestGateway["request"] = async (path, init = {}, credential) => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (credential !== undefined) headers.set("authorization", `Bearer ${credential}`);
    if (json !== undefined) headers.set("content-type", "application/json");
    return app.request(path, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  };
  const operator: TestGateway["operator"] = (path, init) => request(path, init, operatorToken);
  const expect201 = async <T>(res: Response, what: string): Promise<T> => {
    if (res.status !== 201) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  return {
    app,
    recorder,
    database,
    secretBox,
    membership,
    logs,
    request,
    operator,
    createTenant: async (name) => expect201(await operator("/v1/tenants", { method: "POST", json: { name } }), `tenant ${name}`),
    createKey: async (tenant, body) =>
      expect201(await operator(`/v1/tenants/${tenant}/keys`, { method: "POST", json: body }), `key for ${tenant}`),
    deploy: (tenant, fn, files, credential = operatorToken) => {
      const form = new FormData();
      for (const [path, text] of Object.entries(files)) form.append("file", new Blob([text]), path);
      return request(`/v1/tenants/${tenant}/functions/${fn}/deployments`, { method: "POST", body: form }, credential);
    },
    close: async () => {
      await asyncSetup?.queue.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The error body of a response. */
export async function errorOf(res: Response): Promise<{ code: string; message: string; requestId: string }> {
  return ((await res.json()) as { error: { code: string; message: string; requestId: string } }).error;
}
