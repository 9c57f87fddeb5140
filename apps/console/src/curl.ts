/** Quotes a word for a POSIX shell: single quotes, with each `'` closed, escaped and reopened. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `curl` command that makes the same call as the invoke form. The key is never shown:
 * the command reads it from $ISLE_API_KEY.
 */
export function curlCommand(url: string, request: { method: string; body: string; withKey: boolean }): string {
  const parts = ["curl"];
  if (request.method !== "GET") parts.push("-X", request.method);
  parts.push(shellQuote(url));
  if (request.withKey) parts.push(`-H "authorization: Bearer $ISLE_API_KEY"`);
  if (request.method !== "GET" && request.method !== "HEAD" && request.body !== "") parts.push("--data-raw", shellQuote(request.body));
  return parts.join(" ");
}

/** A fresh W3C traceparent (sampled), so the console can tell the trace id of a call it made. */
export function newTraceparent(): { traceparent: string; traceId: string } {
  const hex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  const traceId = hex(16);
  return { traceparent: `00-${traceId}-${hex(8)}-01`, traceId };
}
