import type { Command } from "commander";
import type { CliIo, Context } from "../context.js";
import { action, type JsonOption } from "./action.js";
import type { LogEntry } from "./views.js";

interface LogsOptions extends JsonOption {
  follow?: boolean;
  status?: string;
  search?: string;
  limit?: string;
}

/** `isle logs <function> [--follow]`: the function's console output, one line per entry. */
export function register(program: Command, io: CliIo): void {
  program
    .command("logs")
    .description("print a function's recent log lines; --follow keeps printing new ones until interrupted")
    .argument("<function>")
    .option("-f, --follow", "stream new lines as invocations finish")
    .option("--status <status>", "only invocations that succeeded or failed (succeeded, failed)")
    .option("--search <text>", "only lines containing this text")
    .option("--limit <n>", "invocations to read back (1-100, default 20)")
    .option("--json", "one JSON object per line")
    .action(
      action<LogsOptions, [string]>(io, async (ctx, [fn], options) => {
        const query = { status: options.status, search: options.search, limit: options.limit };
        const path = await ctx.functionPath(fn, "/logs");
        const print = (entry: LogEntry) => ctx.out(options.json ? JSON.stringify(entry) : formatEntry(entry));
        if (!options.follow) {
          const page = await ctx.client().json<{ lines: LogEntry[] }>("GET", path, { query });
          for (const entry of page.lines) print(entry);
          return;
        }
        await follow(ctx, path, query, print);
      }),
    );
}

/** `2026-01-01T00:00:00.000Z inv_…  log    message`. */
export function formatEntry(entry: LogEntry): string {
  return `${entry.at} ${entry.invocationId} ${entry.level.padEnd(5)} ${entry.message}`;
}

async function follow(ctx: Context, path: string, query: Record<string, string | undefined>, print: (entry: LogEntry) => void): Promise<void> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const res = await ctx.client().request("GET", path, { query: { ...query, follow: "1" }, headers: { accept: "text/event-stream" }, signal: abort.signal });
    if (!res.body) return;
    for await (const event of serverSentEvents(res.body)) {
      if (event.event === "log") print(JSON.parse(event.data) as LogEntry);
      else if (event.event === "dropped") ctx.note(`isle: the server dropped lines of ${JSON.parse(event.data).invocations ?? "some"} invocations (this client read too slowly)`);
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

/** The events of a text/event-stream body: `event:` and `data:` fields, comments skipped. */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      let event = "message";
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        const at = line.indexOf(":");
        const field = at < 0 ? line : line.slice(0, at);
        const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}
