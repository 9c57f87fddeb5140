import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "./client.js";
import { createTenant, findTenantByName } from "./queries/tenants.js";
import { createTestDatabase, type TestDatabase } from "./test-support/databases.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
// The child imports the built client.js (not index.js) so it needs nothing but this package:
// index.js also pulls in @isle/errors, whose dist may not be built when unit tests run.
const distClient = pathToFileURL(join(packageDir, "dist", "client.js")).href;
const distTenants = pathToFileURL(join(packageDir, "dist", "schema", "tenants.js")).href;

// A second Isle process: open the data dir, report, and in "hold" mode write a row and stay up.
const CHILD = `
const [clientUrl, tenantsUrl, dataDir, mode] = process.argv.slice(2);
const { openDatabase } = await import(clientUrl);
try {
  const database = await openDatabase({ dataDir });
  if (mode === "hold") {
    const { tenants } = await import(tenantsUrl);
    await database.db.insert(tenants).values({ id: "ten_fromchild", name: "from-child" });
    console.log(JSON.stringify({ opened: true }));
    setInterval(() => {}, 1000);
  } else {
    console.log(JSON.stringify({ opened: true }));
    await database.close();
  }
} catch (err) {
  console.log(JSON.stringify({ code: err.code, pid: err.pid, message: err.message }));
  process.exitCode = 3;
}
`;

interface ChildReport {
  opened?: boolean;
  code?: string;
  pid?: number;
  message?: string;
}

/** Run a second Isle process against dataDir until it exits; its last stdout line is its report. */
async function runChild(dataDir: string): Promise<{ report: ChildReport; elapsedMs: number }> {
  const script = await writeChildScript(dataDir);
  const started = Date.now();
  // It exits non-zero when it cannot open; execFile then rejects with the same stdout.
  const { stdout } = await promisify(execFile)(process.execPath, [script, distClient, distTenants, dataDir]).catch(
    (err: { stdout: string }) => ({ stdout: err.stdout }),
  );
  const elapsedMs = Date.now() - started;
  const report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as ChildReport;
  return { report, elapsedMs };
}

/** The child script, beside (not inside) the pglite files it must not touch. */
async function writeChildScript(dataDir: string): Promise<string> {
  const script = join(dataDir, "child.mjs");
  await writeFile(script, CHILD);
  return script;
}

/** Sizes and mtimes of every file under dir, to prove nobody wrote there. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    out[path] = `${s.size}:${s.mtimeMs}`;
  }
  return out;
}

/**
 * Whether dist/ was built from the current sources: every source file the build compiles is older
 * than the oldest JavaScript file of the build (tsc rewrites them all on each build).
 */
async function distIsCurrent(): Promise<boolean> {
  const newest = async (dir: string, wanted: (name: string) => boolean): Promise<number[]> => {
    const times: number[] = [];
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && wanted(entry.name)) times.push((await stat(join(entry.parentPath, entry.name))).mtimeMs);
    }
    return times;
  };
  const built = await newest(join(packageDir, "dist"), (name) => name.endsWith(".js")).catch(() => []);
  if (built.length === 0) return false;
  const sources = await newest(join(packageDir, "src"), (name) => name.endsWith(".ts") && !name.endsWith(".test.ts"));
  sources.push((await stat(join(packageDir, "tsconfig.json"))).mtimeMs);
  return Math.max(...sources) < Math.min(...built);
}

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  const pid = child.pid;
  await new Promise((resolve) => child.once("exit", resolve));
  if (pid === undefined) throw new Error("no pid");
  return pid;
}

describe("embedded PGlite has a single owner", () => {
  let test: TestDatabase;
  const open: Database[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    // The test command has just built the package; build it here only if the sources changed since.
    if (await distIsCurrent()) return;
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    await promisify(execFile)(process.execPath, [tsc, "-p", join(packageDir, "tsconfig.json")]);
  }, 120_000);
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(open.splice(0).map((d) => d.close()));
    await test?.dispose();
  });

  it("refuses a second opener in the same process and keeps the first working", async () => {
    test = await createTestDatabase("pglite");
    const first = await openDatabase(test.options);
    open.push(first);
    const err = await openDatabase(test.options).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "database_locked", pid: process.pid });
    expect((err as Error).message).toContain(`in use by process ${process.pid}`);
    expect((err as Error).message).toContain("ISLE_DATA_DIR");
    await createTenant(first.db, "still-works");
    expect(await findTenantByName(first.db, "still-works")).toBeDefined();
  });

  it("releases the lock on close so the directory can be opened again", async () => {
    test = await createTestDatabase("pglite");
    const first = await openDatabase(test.options);
    await createTenant(first.db, "kept");
    await first.close();
    await expect(stat(join(test.options.dataDir, "pglite.lock"))).rejects.toMatchObject({ code: "ENOENT" });
    const second = await openDatabase(test.options);
    open.push(second);
    expect(await findTenantByName(second.db, "kept")).toBeDefined();
  });

  it("takes over a lock left by a process that is gone", async () => {
    test = await createTestDatabase("pglite");
    const lockPath = join(test.options.dataDir, "pglite.lock");
    await writeFile(lockPath, `${await deadPid()}\n`);
    const database = await openDatabase(test.options);
    open.push(database);
    expect((await readFile(lockPath, "utf8")).trim()).toBe(String(process.pid));
  });

  it("takes over an empty lock file (a crash between creating and writing it)", async () => {
    test = await createTestDatabase("pglite");
    await writeFile(join(test.options.dataDir, "pglite.lock"), "");
    open.push(await openDatabase(test.options));
  });

  it("makes a second Isle process fail fast without touching the database files", async () => {
    test = await createTestDatabase("pglite");
    const first = await openDatabase(test.options);
    open.push(first);
    await createTenant(first.db, "owner");
    const before = await snapshot(join(test.options.dataDir, "pglite"));

    const child = await runChild(test.options.dataDir);
    expect(child.report).toMatchObject({ code: "database_locked", pid: process.pid });
    expect(child.report.message).toContain(`in use by process ${process.pid}`);
    // Opening PGlite alone takes seconds; failing before it is well under that.
    expect(child.elapsedMs).toBeLessThan(3_000);
    expect(child.report.opened).toBeUndefined();
    expect(await snapshot(join(test.options.dataDir, "pglite"))).toEqual(before);
    expect(await findTenantByName(first.db, "owner")).toBeDefined();
  });

  it("recovers after the owning process is killed", async () => {
    test = await createTestDatabase("pglite");
    const script = await writeChildScript(test.options.dataDir);
    const holder = spawn(process.execPath, [script, distClient, distTenants, test.options.dataDir, "hold"]);
    children.push(holder);
    const ready = await new Promise<string>((resolve, reject) => {
      let out = "";
      holder.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out);
      });
      holder.once("exit", (code) => reject(new Error(`holder exited with ${code}: ${out}`)));
    });
    expect(JSON.parse(ready)).toEqual({ opened: true });

    await expect(openDatabase(test.options)).rejects.toMatchObject({ code: "database_locked", pid: holder.pid });
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.kill("SIGKILL");
    await exited;

    const database = await openDatabase(test.options);
    open.push(database);
    expect(await findTenantByName(database.db, "from-child")).toMatchObject({ id: "ten_fromchild" });
  });
});
