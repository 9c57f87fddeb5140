import pg from "pg";

/** Stops a listener; idempotent. */
export type Unlisten = () => Promise<void>;

/** What a listener is told: a notification's payload, or `undefined` once it is listening after a (re)connect (earlier ones were missed). */
export type NotifyCallback = (payload: string | undefined) => void;

// LISTEN takes an identifier, not a parameter; only plain lower-case names are accepted so it
// can be written into the statement as it is.
const channelPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `channel` is a plain lower-case identifier (LISTEN cannot take a parameter). */
export function checkChannel(channel: string): void {
  if (!channelPattern.test(channel)) throw new Error(`Invalid notification channel name: ${channel}`);
}

/**
 * LISTEN on a dedicated connection, outside the pool so it never holds a pooled slot. A listener
 * is a latency optimisation for its callers, never a correctness one: it returns at once, connects
 * in the background (after a lost connection, every `retryMs`), and each time it is listening
 * calls `onNotify(undefined)` so the caller looks for what was sent before.
 */
export function listenPostgres(
  url: string,
  channel: string,
  onNotify: NotifyCallback,
  retryMs = 2_000,
): Unlisten {
  checkChannel(channel);
  let stopped = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;

  const retry = () => {
    if (!stopped && !timer) timer = setTimeout(connect, retryMs);
  };
  const drop = (c: pg.Client) => {
    if (client === c) client = undefined;
    c.end().catch(() => {});
  };
  async function connect(): Promise<void> {
    timer = undefined;
    if (stopped) return;
    const c = new pg.Client({ connectionString: url });
    c.on("notification", (n) => {
      if (n.channel === channel) onNotify(n.payload ?? "");
    });
    c.on("error", () => {
      drop(c);
      retry();
    });
    c.on("end", () => {
      if (client === c) {
        client = undefined;
        retry();
      }
    });
    try {
      await c.connect();
      await c.query(`listen ${channel}`);
    } catch {
      drop(c);
      retry();
      return;
    }
    if (stopped) return drop(c);
    client = c;
    onNotify(undefined);
  }

  void connect();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const c = client;
    client = undefined;
    await c?.end().catch(() => {});
  };
}
