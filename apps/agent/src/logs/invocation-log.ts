/** One line of a function's output: a `console.*` call or an uncaught exception. */
export interface LogLine {
  /** When it was written, milliseconds since the Unix epoch (workerd's clock: it moves at I/O). */
  unixMs: number;
  /** `log`, `info`, `warn`, `error`, `debug`; `exception` for an uncaught exception or rejection; `truncated` for the marker. */
  level: string;
  message: string;
}

/** Levels a function's runtime may report; anything else is refused at the socket. */
export const functionLogLevels: ReadonlySet<string> = new Set(["log", "info", "warn", "error", "debug", "exception"]);

/**
 * Bounds of one invocation's output, whenever it was written (before the
 * response or in `waitUntil` work after it). The isolate applies the same
 * bounds so that it sends no more than this; the agent applies them again
 * because what the isolate sends is the tenant's to forge.
 */
export const logLimits = {
  maxLines: 200,
  /** UTF-8 bytes of all messages together. */
  maxBytes: 64 * 1024,
  /** UTF-8 bytes of one message; a longer one is cut and says so. */
  maxLineBytes: 8 * 1024,
} as const;

/** Appended to a message cut at `maxLineBytes`. */
export const lineCutSuffix = " … [line truncated]";

/** Where an invocation's output goes as it arrives from the runtime. */
export interface LogSink {
  /** Lines in the order written; `truncated` when the runtime already dropped some past the bounds. */
  add(lines: readonly LogLine[], truncated: boolean): void;
  /** True once the bounds are reached: anything added from then on is dropped. */
  readonly full: boolean;
}

/**
 * The output of one invocation on this agent, bounded by {@link logLimits}.
 * Lines collect until the invocation's trailer takes them; lines that arrive
 * later (work left running with `ctx.waitUntil`) go to the `late` callback
 * given then, counted against the same bounds. Past the bounds one marker
 * line (level `truncated`) says that output was dropped, and nothing more is
 * kept.
 */
export class InvocationLog implements LogSink {
  private lines: LogLine[] = [];
  private count = 0;
  private bytes = 0;
  private truncated = false;
  private taken = false;
  private late: ((lines: LogLine[]) => void) | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get full(): boolean {
    return this.truncated;
  }

  add(lines: readonly LogLine[], truncated: boolean): void {
    const accepted: LogLine[] = [];
    for (const line of lines) {
      if (this.truncated) break;
      const message = capMessage(wellFormed(line.message));
      const size = Buffer.byteLength(message);
      if (this.count >= logLimits.maxLines || this.bytes + size > logLimits.maxBytes) {
        accepted.push(this.truncationMarker());
        break;
      }
      this.count += 1;
      this.bytes += size;
      accepted.push({ unixMs: line.unixMs, level: line.level, message });
    }
    if (truncated && !this.truncated) accepted.push(this.truncationMarker());
    if (accepted.length === 0) return;
    if (!this.taken) this.lines.push(...accepted);
    else this.late?.(accepted);
  }

  /** The lines so far, for the trailer; lines added from now on go to `late`, if given. */
  take(late?: (lines: LogLine[]) => void): LogLine[] {
    this.taken = true;
    this.late = late;
    const out = this.lines;
    this.lines = [];
    return out;
  }

  private truncationMarker(): LogLine {
    this.truncated = true;
    return {
      unixMs: this.now(),
      level: "truncated",
      message: `output past ${logLimits.maxLines} lines or ${logLimits.maxBytes / 1024} KiB per invocation was dropped`,
    };
  }
}

/** A message cut to `maxLineBytes` of UTF-8, suffix included, never inside a character. */
export function capMessage(message: string): string {
  if (Buffer.byteLength(message) <= logLimits.maxLineBytes) return message;
  const bytes = Buffer.from(message);
  let end = logLimits.maxLineBytes - Buffer.byteLength(lineCutSuffix);
  // Back up to the first byte of a character (UTF-8 continuation bytes are 10xxxxxx).
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString("utf8") + lineCutSuffix;
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The message as text every store accepts: NUL and lone surrogates become
 * U+FFFD (PostgreSQL's jsonb refuses both; UTF-8 cannot encode the second).
 * Everything else — newlines, escape sequences, text that looks like JSON —
 * stays as written: it is data inside one string, never a line of its own.
 */
export function wellFormed(message: string): string {
  return message.replace(/\0/g, "\ufffd").replace(loneSurrogate, "\ufffd");
}
