import { open, readFile, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Thrown when another live process owns the embedded database. `code` lets callers
 * (and tests) tell it apart without parsing the message.
 */
export class DatabaseLockedError extends Error {
  readonly code = "database_locked";
  /** The process that holds the data directory. */
  readonly pid: number;
  readonly dataDir: string;

  constructor(dataDir: string, pid: number, lockPath: string) {
    super(
      `The Isle data directory ${dataDir} is in use by process ${pid}. ` +
        `Stop that process or choose another ISLE_DATA_DIR. ` +
        `(If process ${pid} is not Isle, delete ${lockPath}.)`,
    );
    this.name = "DatabaseLockedError";
    this.pid = pid;
    this.dataDir = dataDir;
  }
}

/** A held lock; `release` is idempotent. */
export interface PgliteLock {
  release(): Promise<void>;
}

// Lock files this process holds, shared through globalThis so two copies of this module
// (src and dist in one process) agree. It is what tells "our own pid, still held" apart from
// "our own pid, left by a crashed earlier process" — in a container the pid is often the same.
const HELD_KEY = Symbol.for("isle.db.heldPgliteLocks");
function heldLocks(): Set<string> {
  const g = globalThis as { [HELD_KEY]?: Set<string> };
  return (g[HELD_KEY] ??= new Set());
}

/**
 * Take `<dataDir>/pglite.lock` for this process or throw DatabaseLockedError. The file is
 * created with O_EXCL, so of two racing openers exactly one wins; a lock whose pid is dead is
 * taken over under a second O_EXCL "takeover" file so two openers cannot both take it over.
 */
export async function acquirePgliteLock(dataDir: string, lockPath: string): Promise<PgliteLock> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await tryCreate(lockPath)) {
      heldLocks().add(lockPath);
      return { release: once(() => releaseLock(lockPath)) };
    }
    const holder = await readHolder(lockPath);
    if (holder === "missing") continue;
    if (holder !== "unknown" && isAlive(holder, lockPath)) {
      throw new DatabaseLockedError(dataDir, holder, lockPath);
    }
    await removeStale(lockPath, holder);
  }
  throw new Error(`Could not take ${lockPath}: it keeps changing hands`);
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const file = await open(path, "wx");
    try {
      await file.writeFile(`${process.pid}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    return true;
  } catch (err) {
    if (errorCode(err) === "EEXIST") return false;
    throw err;
  }
}

/**
 * The pid in the lock file. A creator writes its pid right after creating the file, so an
 * empty file is given a moment before being called "unknown" (a crash between the two).
 */
async function readHolder(path: string): Promise<number | "missing" | "unknown"> {
  for (let i = 0; i < 10; i++) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if (errorCode(err) === "ENOENT") return "missing";
      throw err;
    }
    const pid = Number(text.trim());
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
    await sleep(50);
  }
  return "unknown";
}

function isAlive(pid: number, lockPath: string): boolean {
  if (pid === process.pid) return heldLocks().has(lockPath);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else — still alive.
    return errorCode(err) === "EPERM";
  }
}

/** Delete a stale lock, but only if it still names the dead holder we saw. */
async function removeStale(lockPath: string, seen: number | "unknown"): Promise<void> {
  const takeover = `${lockPath}.takeover`;
  if (!(await tryCreate(takeover))) {
    // Another opener is taking over right now. Its marker lives for milliseconds; one left
    // by a crash in that window is cleared once its pid is dead.
    const marker = await readHolder(takeover);
    if (marker !== "missing" && (marker === "unknown" || !isAlive(marker, takeover))) {
      await unlinkIfExists(takeover);
    }
    await sleep(20);
    return;
  }
  // Marked as held so a second opener in this same process sees the marker as live.
  heldLocks().add(takeover);
  try {
    const now = await readHolder(lockPath);
    if (now === seen) await unlinkIfExists(lockPath);
  } finally {
    heldLocks().delete(takeover);
    await unlinkIfExists(takeover);
  }
}

async function releaseLock(lockPath: string): Promise<void> {
  heldLocks().delete(lockPath);
  // Never delete a lock that is no longer ours (someone removed ours by hand and started).
  const holder = await readHolder(lockPath);
  if (holder === process.pid) await unlinkIfExists(lockPath);
}

async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errorCode(err) !== "ENOENT") throw err;
  }
}

function errorCode(err: unknown): unknown {
  return typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
