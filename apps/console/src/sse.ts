/** One server-sent event: its name (`message` when unnamed) and its data. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads server-sent events from a fetch() body. EventSource cannot send an Authorization
 * header, and the credential must not go in the URL (it would reach access logs), so the
 * console parses the stream itself: events end at a blank line, `data:` lines join with "\n",
 * comment lines (`: keep-alive`) are skipped.
 */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(buffer[end] === "\r" ? end + 2 : end + 1);
      if (line === "") {
        if (data.length > 0) onEvent({ event, data: data.join("\n") });
        event = "message";
        data = [];
      } else if (line.startsWith(":")) {
        continue;
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const raw = colon < 0 ? "" : line.slice(colon + 1);
        const text = raw.startsWith(" ") ? raw.slice(1) : raw;
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
    }
  }
}
