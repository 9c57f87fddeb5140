import type { Readable } from "node:stream";

/** Longest line kept whole; a longer one is cut there (the log sink bounds it again). */
const maxLineBytes = 16 * 1024;

/**
 * Calls `onLine` with each line a container writes to `stream`, without its
 * newline. A line longer than the bound is delivered in pieces rather than
 * held: a process that never writes a newline must not grow the agent's
 * memory. The last unterminated line is delivered when the stream ends.
 */
export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) !== -1) {
      onLine(pending.slice(0, newline).replace(/\r$/, ""));
      pending = pending.slice(newline + 1);
    }
    while (pending.length > maxLineBytes) {
      onLine(pending.slice(0, maxLineBytes));
      pending = pending.slice(maxLineBytes);
    }
  });
  stream.on("end", () => {
    if (pending !== "") onLine(pending);
    pending = "";
  });
  stream.on("error", () => undefined);
}
