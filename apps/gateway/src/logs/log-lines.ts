import type { InvocationLogLine } from "@isle/db";
import type { agentV1 } from "@isle/proto";

/**
 * The agent's lines as the record stores them. The message stays exactly as
 * the function wrote it (newlines, escapes, text that looks like JSON are
 * data inside one JSON string), except NUL, which PostgreSQL's jsonb cannot
 * hold (the agent already replaces it; this is the database's own guard).
 */
export function recordLines(lines: readonly agentV1.LogLine[]): InvocationLogLine[] {
  return lines.map((line) => ({
    at: timeOf(line.unixMs),
    level: line.level,
    message: line.message.includes("\0") ? line.message.replaceAll("\0", "\ufffd") : line.message,
  }));
}

function timeOf(unixMs: number): string {
  const at = new Date(unixMs);
  return (Number.isNaN(at.getTime()) ? new Date() : at).toISOString();
}
