// A minimal OTLP/HTTP trace receiver for the benchmark: Isle's parts export
// their spans here as OTLP JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json, so no
// protobuf decoding is needed), and the benchmark reads each span's service,
// name, trace and duration. Not a collector: it keeps what it is sent, answers
// 200, and understands nothing else.
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";

/** Ids arrive as hex in OTLP JSON; base64 (the protobuf JSON mapping) is read too. */
const hexId = (id) => (/^[0-9a-f]+$/i.test(id ?? "") ? id.toLowerCase() : Buffer.from(id ?? "", "base64").toString("hex"));

/** Nanosecond timestamps arrive as decimal strings (64-bit) or numbers. */
const nanos = (t) => BigInt(typeof t === "number" ? Math.round(t) : String(t ?? 0));

/** The spans of one OTLP JSON export request: { service, name, traceId, spanId, parentSpanId, durationMs }. */
export function spansOf(body) {
  const out = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value?.stringValue ?? "";
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service,
          name: s.name,
          traceId: hexId(s.traceId),
          spanId: hexId(s.spanId),
          parentSpanId: hexId(s.parentSpanId),
          durationMs: Number(nanos(s.endTimeUnixNano) - nanos(s.startTimeUnixNano)) / 1e6,
        });
      }
    }
  }
  return out;
}

/** Listens on a free loopback port; resolves { endpoint, byTrace, close }, byTrace: trace id → spans. */
export function startOtlpReceiver() {
  const byTrace = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      try {
        let raw = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
        for (const span of spansOf(JSON.parse(raw.toString("utf8")))) {
          const list = byTrace.get(span.traceId) ?? [];
          list.push(span);
          byTrace.set(span.traceId, list);
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } catch {
        // Protobuf or anything else unreadable: the exporter was not asked for JSON.
        res.writeHead(400).end();
      }
    });
  });
  return new Promise((done) =>
    server.listen(0, "127.0.0.1", () =>
      done({ endpoint: `http://127.0.0.1:${server.address().port}`, byTrace, close: () => new Promise((r) => server.close(r)) }),
    ),
  );
}
