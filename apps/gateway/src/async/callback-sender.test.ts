import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { CidrList } from "@isle/config";
import { createLogger } from "@isle/telemetry";
import { CallbackSender, type CallbackResult } from "./callback-sender.js";

const logger = createLogger({ service: "gateway", level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
const result: CallbackResult = {
  invocationId: "inv_1",
  tenantId: "ten_1",
  status: 201,
  headers: [["content-type", "text/plain"], ["x-out", "1"], ["connection", "close"]],
  body: new Uint8Array(Buffer.from("the answer")),
  durationMs: 12,
};

const servers: Server[] = [];
const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
};
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A receiver answering `statuses` in turn (the last one from then on). */
async function receiver(statuses: number[]) {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses[Math.min(got.length - 1, statuses.length - 1)]!;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

function sender(allow: string) {
  const outcomes: Array<{ delivered: boolean; tries: number; error?: string }> = [];
  const s = new CallbackSender({ allow: CidrList.parse(allow), logger, retryDelaysMs: [10, 10], onDone: (_r, o) => outcomes.push(o) });
  return { s, outcomes };
}

describe("CallbackSender", () => {
  it("POSTs the function's response with Isle's headers, retrying 5xx", async () => {
    const { url, got } = await receiver([503, 200]);
    const { s, outcomes } = sender("127.0.0.1/32");
    s.send(url, result);
    await until(() => outcomes.length > 0);
    expect(outcomes).toEqual([{ delivered: true, tries: 2 }]);
    expect(got).toHaveLength(2);
    expect(got[1]!.body).toBe("the answer");
    expect(got[1]!.headers).toMatchObject({
      "x-isle-invocation-id": "inv_1",
      "x-isle-status": "201",
      "x-isle-duration-ms": "12",
      "x-out": "1",
      "content-type": "text/plain",
    });
  });

  it("gives up after its tries and reports it; a 4xx is not retried", async () => {
    const { url, got } = await receiver([500]);
    const { s, outcomes } = sender("127.0.0.1/32");
    s.send(url, result);
    await until(() => outcomes.length > 0);
    expect(got).toHaveLength(3);
    expect(outcomes).toEqual([{ delivered: false, tries: 3, error: "the receiver answered 500" }]);
    const refusing = await receiver([404]);
    const second = sender("127.0.0.1/32");
    second.s.send(refusing.url, result);
    await until(() => second.outcomes.length > 0);
    expect(refusing.got).toHaveLength(1);
    expect(second.outcomes).toEqual([{ delivered: false, tries: 1, error: "the receiver answered 404" }]);
  });

  it("refuses a loopback receiver that is not allowlisted, at delivery time too", async () => {
    const { url, got } = await receiver([200]);
    const { s, outcomes } = sender("");
    s.send(url, result);
    await until(() => outcomes.length > 0);
    expect(got).toHaveLength(0);
    expect(outcomes[0]).toMatchObject({ delivered: false, error: expect.stringContaining("loopback") });
  });
});
