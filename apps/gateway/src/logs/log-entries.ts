import type { InvocationLogLine, InvocationOutput } from "@isle/db";

/** One line of a function's logs as the API shows it: the line and the invocation it belongs to. */
export interface LogEntry {
  invocationId: string;
  /** The invocation's status (`succeeded`, `failed`). */
  status: string;
  at: string;
  level: string;
  message: string;
}

/** What a reader asked to see. */
export interface LogFilter {
  status?: string | undefined;
  /** Text the message must contain, case-insensitively. */
  search?: string | undefined;
}

/** The lines of one invocation that pass the filter's search, as entries. */
export function entriesOf(invocationId: string, status: string, lines: readonly InvocationLogLine[], filter: LogFilter): LogEntry[] {
  const needle = filter.search ? filter.search.toLowerCase() : undefined;
  const out: LogEntry[] = [];
  for (const { at, level, message } of lines) {
    if (needle === undefined || message.toLowerCase().includes(needle)) out.push({ invocationId, status, at, level, message });
  }
  return out;
}

/** A page of invocations (newest first) as entries in the order they were written: oldest invocation first. */
export function pageEntries(items: readonly InvocationOutput[], filter: LogFilter): LogEntry[] {
  return [...items].reverse().flatMap((item) => entriesOf(item.id, item.status, item.logs, filter));
}
