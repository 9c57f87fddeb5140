import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsleError } from "@isle/errors";
import { createAuthority, issueCertificate, type Authority, type IssuedCertificate } from "@isle/pki";
import { agentV1, wholeAnswersMetadata } from "@isle/proto";
import type { AgentMember } from "../control/membership.js";
import { SidecarInvoker } from "./sidecar-invoker.js";

/** A stand-in node serving `cert` that records every frame it hears and never answers; its port. */
async function silentNode(
  ca: Authority,
  cert: IssuedCertificate,
  frames: agentV1.InvokeFrame[],
  streams: grpc.Metadata[] = [],
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(agentV1.AgentService, {
    invoke(call: grpc.ServerDuplexStream<agentV1.InvokeFrame, agentV1.InvokeFrame>) {
      streams.push(call.metadata);
      call.on("data", (frame: agentV1.InvokeFrame) => frames.push(frame));
    },
  });
  const credentials = grpc.ServerCredentials.createSsl(
    Buffer.from(ca.certPem),
    [{ cert_chain: Buffer.from(cert.certPem), private_key: Buffer.from(cert.keyPem) }],
    true,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { server, port };
}

const memberAt = (port: number): AgentMember => ({
  agentId: "a1",
  address: `127.0.0.1:${port}`,
  capacity: 10,
  reportedInFlight: 0,
  localInFlight: 0,
  draining: false,
  workerdReady: 1,
  loaded: [],
  lastSeenMs: Date.now(),
  session: {},
});

// The agent answers `timeout` at an invocation's deadline; a node that stays
// silent (agent wedged, frames lost) must not hold the gateway longer than
// that deadline and a fixed grace, and must be told to stop.
describe("SidecarInvoker with a node that never answers (real TLS, real gRPC)", () => {
  const frames: agentV1.InvokeFrame[] = [];
  const streams: grpc.Metadata[] = [];
  let sidecar: grpc.Server;
  let invoker: SidecarInvoker;
  let member: AgentMember;

  beforeAll(async () => {
    const ca = await createAuthority();
    const gateway = await issueCertificate(ca, { role: "gateway", name: "gw-1", hosts: [] });
    const node = await issueCertificate(ca, { role: "sidecar", name: "node-1", hosts: ["127.0.0.1"] });
    let port: number;
    ({ server: sidecar, port } = await silentNode(ca, node, frames, streams));
    invoker = new SidecarInvoker({ caPem: ca.certPem, certPem: gateway.certPem, keyPem: gateway.keyPem });
    member = memberAt(port);
  });
  afterAll(() => {
    invoker?.close();
    sidecar?.forceShutdown();
  });

  it("gives up after the deadline and its grace with `timeout`, and cancels the invocation on the node", async () => {
    const deadlineUnixMs = Date.now() + 300;
    const head = agentV1.RequestHead.fromPartial({ invocationId: "inv_silent", function: { functionId: "fn_1" }, deadlineUnixMs, initialWindow: 1024 });
    const failure = await invoker.invoke(member, { head, body: null, onClientGone: () => undefined }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(IsleError);
    expect((failure as IsleError).code).toBe("timeout");
    // Not before the deadline: until then the agent's own answer is what counts.
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineUnixMs);
    // The node heard the head, then the caller's Cancel on the same channel.
    for (let i = 0; i < 100 && frames.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(frames.map((f) => f.frame?.$case)).toEqual(["requestHead", "cancel"]);
    expect(frames[1]?.channel).toBe(frames[0]?.channel);
    expect(member.localInFlight).toBe(0);
    // The stream said this gateway reads whole answers.
    expect(streams[0]?.get(wholeAnswersMetadata.key)).toEqual([wholeAnswersMetadata.value]);
  });
});

// Every part's certificate comes from the platform CA: a server at a node's
// address holding another part's certificate (an agent's, say) must not
// receive invocations and their context keys.
describe("SidecarInvoker and a server that is not a sidecar (real TLS, real gRPC)", () => {
  it("sends no frame to it and fails the invocation", async () => {
    const ca = await createAuthority();
    const gateway = await issueCertificate(ca, { role: "gateway", name: "gw-1", hosts: [] });
    const impostor = await issueCertificate(ca, { role: "agent", name: "node-1", hosts: ["127.0.0.1"] });
    const frames: agentV1.InvokeFrame[] = [];
    const { server, port } = await silentNode(ca, impostor, frames);
    const invoker = new SidecarInvoker({ caPem: ca.certPem, certPem: gateway.certPem, keyPem: gateway.keyPem });
    try {
      const head = agentV1.RequestHead.fromPartial({ invocationId: "inv_impostor", function: { functionId: "fn_1" }, deadlineUnixMs: Date.now() + 500, initialWindow: 1024 });
      const failure = await invoker.invoke(memberAt(port), { head, body: null, onClientGone: () => undefined }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(IsleError);
      expect(frames).toEqual([]);
    } finally {
      invoker.close();
      server.forceShutdown();
    }
  });
});
