/** A server-sent event stream being read in the background. */
export interface EventStream {
  /** Everything read so far, as text. */
  text(): string;
  /** The data of every event of this type so far, parsed as JSON. */
  events<T>(type: string): T[];
  close(): Promise<void>;
}

/** Opens `url` and keeps reading its event stream until `close()`; rejects unless it answers 200 text/event-stream. */
export async function openEventStream(url: string, headers: Record<string, string>): Promise<EventStream> {
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers } });
  if (res.status !== 200 || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
    throw new Error(`event stream ${url}: ${res.status} ${await res.text()}`);
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return {
    text: () => text,
    events<T>(type: string): T[] {
      const prefix = `event: ${type}\ndata: `;
      return text
        .split("\n\n")
        .filter((block) => block.startsWith(prefix))
        .map((block) => JSON.parse(block.slice(prefix.length)) as T);
    },
    close: () => reader.cancel().catch(() => undefined),
  };
}
