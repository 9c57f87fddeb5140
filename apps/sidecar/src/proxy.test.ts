import { createPrivateKey, createSecretKey, randomBytes, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthority, issueCertificate, type Authority, type IssuedCertificate } from "@isle/pki";
import { agentV1, contextKeyGrant, contextKeyMetadata, contextMac, grpcChannelOptions, relayedWholeAnswersMetadata, wholeAnswersMetadata } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { TenantSlots } from "./limits.js";
import { createProxyServer } from "./proxy.js";

/** A call as the stand-in agent saw it: its method, the deadline it came with, and its cancellation. */
interface SeenCall {
  method: string;
  deadline: grpc.Deadline;
  cancelled: Promise<void>;
}

interface RecordingAgent {
  heads: string[];
  /** The metadata each Invoke stream reached the agent with. */
  invokeMetadata: grpc.Metadata[];
  calls: SeenCall[];
  server: grpc.Server;
}

function seen(method: string, call: { getDeadline(): grpc.Deadline; on(event: "cancelled", listener: () => void): unknown }): SeenCall {
  return { method, deadline: call.getDeadline(), cancelled: new Promise((resolve) => call.on("cancelled", () => resolve())) };
}

/**
 * Stands in for the agent behind the sidecar: records every call and head that
 * reaches it and answers each head, except heads whose invocation id starts
 * with "hang" and Status calls: those stand for a function that runs past
 * any deadline.
 */
function recordingAgent(socket: string): Promise<RecordingAgent> {
  const agent: RecordingAgent = { heads: [], invokeMetadata: [], calls: [], server: new grpc.Server() };
  agent.server.addService(agentV1.AgentService, {
    invoke(call: grpc.ServerDuplexStream<agentV1.InvokeFrame, agentV1.InvokeFrame>) {
      agent.calls.push(seen("invoke", call));
      agent.invokeMetadata.push(call.metadata);
      call.on("data", (frame: agentV1.InvokeFrame) => {
        if (frame.frame?.$case !== "requestHead") return;
        agent.heads.push(frame.frame.value.invocationId);
        if (frame.frame.value.invocationId.startsWith("hang")) return;
        call.write({ channel: frame.channel, frame: { $case: "trailer", value: agentV1.Trailer.fromPartial({ wallMs: 1, cpuMs: 0, errorCode: "", errorMessage: "ran" }) } });
      });
      call.on("end", () => call.end());
    },
    status(call: grpc.ServerUnaryCall<agentV1.StatusRequest, agentV1.StatusResponse>) {
      agent.calls.push(seen("status", call));
    },
  });
  return new Promise((resolve, reject) =>
    agent.server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve(agent))),
  );
}

/** True if `promise` settles within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

function head(invocationId: string, deadlineUnixMs = Date.now() + 30_000): agentV1.RequestHead {
  return agentV1.RequestHead.fromPartial({
    invocationId,
    function: { tenantId: "ten_1", functionId: "fn_1", deploymentId: "dep_1", artifactHash: "abc", tenantName: "acme", functionName: "hello" },
    method: "GET",
    path: "/",
    envRef: "ten_1:fn_1:1",
    deadlineUnixMs,
    initialWindow: 65536,
  });
}

// The sidecar admits only gateways of the platform CA, and forwards only
// invocations whose context such a gateway signed: everything else is
// refused before the agent sees it.
describe("sidecar admission (real TLS, real gRPC)", () => {
  const dir = mkdtempSync(join(tmpdir(), "isle-sidecar-"));
  let ca: Authority;
  let gateway: IssuedCertificate;
  let port = 0;
  let agent: RecordingAgent;
  let proxy: { server: grpc.Server; close(): void };

  beforeAll(async () => {
    ca = await createAuthority();
    gateway = await issueCertificate(ca, { role: "gateway", name: "gw-1", hosts: [] });
    const sidecar = await issueCertificate(ca, { role: "sidecar", name: "node-1", hosts: ["127.0.0.1"] });
    agent = await recordingAgent(join(dir, "agent.sock"));
    proxy = createProxyServer(join(dir, "agent.sock"), createLogger({ service: "sidecar-test", level: "silent" }), {
      tenantSlots: new TenantSlots(100),
    });
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(ca.certPem),
      [{ cert_chain: Buffer.from(sidecar.certPem), private_key: Buffer.from(sidecar.keyPem) }],
      true,
    );
    port = await new Promise<number>((resolve, reject) =>
      proxy.server.bindAsync("127.0.0.1:0", credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  });
  afterAll(() => {
    proxy?.close();
    agent?.server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The context key a gateway opens its stream with, signed by `signer` (a gateway's key, or a forger's). */
  interface StreamKey {
    key: Buffer;
    signer: string;
  }
  const streamKey = (signer = gateway.keyPem): StreamKey => ({ key: randomBytes(32), signer });
  const keyMetadata = ({ key, signer }: StreamKey) => {
    const metadata = new grpc.Metadata();
    metadata.set(contextKeyMetadata.key, key);
    metadata.set(contextKeyMetadata.signature, sign("sha256", contextKeyGrant(key), createPrivateKey(signer)));
    return metadata;
  };

  /** Opens an Invoke stream with these credentials (and context key), sends one head, and reports the trailer or the call's error. */
  async function invoke(credentials: grpc.ChannelCredentials, request: agentV1.RequestHead, metadata = keyMetadata(ownKey)): Promise<string> {
    const client = new agentV1.AgentClient(`127.0.0.1:${port}`, credentials, grpcChannelOptions);
    try {
      return await new Promise<string>((resolve) => {
        const call = client.invoke(metadata, { deadline: Date.now() + 5000 });
        call.on("data", (frame: agentV1.InvokeFrame) => {
          if (frame.frame?.$case === "trailer") resolve(frame.frame.value.errorCode || frame.frame.value.errorMessage);
          call.end();
        });
        call.on("error", (err: grpc.ServiceError) => resolve(`grpc ${grpc.status[err.code]}`));
        call.write({ channel: 1, frame: { $case: "requestHead", value: request } });
      });
    } finally {
      client.close();
    }
  }

  const tlsWith = (cert: IssuedCertificate, trust = ca) =>
    grpc.credentials.createSsl(Buffer.from(trust.certPem), Buffer.from(cert.keyPem), Buffer.from(cert.certPem));
  let ownKey: StreamKey;
  beforeAll(() => {
    ownKey = streamKey();
  });
  const signed = (request: agentV1.RequestHead, { key } = ownKey) => ({
    ...request,
    contextSignature: contextMac(createSecretKey(key), request),
  });

  it("forwards an invocation a gateway of the platform signed", async () => {
    expect(await invoke(tlsWith(gateway), signed(head("inv-ok")))).toBe("ran");
    expect(agent.heads).toEqual(["inv-ok"]);
  });

  it("refuses callers without a certificate, or with one of another CA, at the handshake", async () => {
    const other = await createAuthority();
    const stranger = await issueCertificate(other, { role: "gateway", name: "gw-x", hosts: [] });
    const strangerKey = streamKey(stranger.keyPem);
    expect(await invoke(grpc.credentials.createSsl(Buffer.from(ca.certPem)), signed(head("inv-nocert")))).toBe("grpc UNAVAILABLE");
    expect(await invoke(tlsWith(stranger), signed(head("inv-otherca"), strangerKey), keyMetadata(strangerKey))).toBe("grpc UNAVAILABLE");
    expect(agent.heads).not.toContain("inv-nocert");
    expect(agent.heads).not.toContain("inv-otherca");
  });

  it("refuses a platform certificate that is not a gateway's", async () => {
    const node = await issueCertificate(ca, { role: "sidecar", name: "node-2", hosts: [] });
    const nodeKey = streamKey(node.keyPem);
    expect(await invoke(tlsWith(node), signed(head("inv-sidecar"), nodeKey), keyMetadata(nodeKey))).toBe("grpc PERMISSION_DENIED");
    expect(agent.heads).not.toContain("inv-sidecar");
  });

  it("refuses unsigned, forged, altered and expired contexts from a real gateway", async () => {
    const otherGateway = await issueCertificate(ca, { role: "gateway", name: "gw-2", hosts: [] });
    // A context key signed by another gateway's key than the certificate this call came with.
    const forgedKey = streamKey(otherGateway.keyPem);
    const altered = signed(head("inv-altered"));
    altered.function = { ...altered.function!, tenantId: "ten_victim" };
    const answers = [
      await invoke(tlsWith(gateway), head("inv-unsigned")),
      // Authenticated with a key of the caller's own choosing that no gateway signed.
      await invoke(tlsWith(gateway), signed(head("inv-forged-key"), forgedKey), keyMetadata(forgedKey)),
      // The stream's key is genuine, but this head was authenticated with another.
      await invoke(tlsWith(gateway), signed(head("inv-forged"), streamKey())),
      await invoke(tlsWith(gateway), signed(head("inv-nokey")), new grpc.Metadata()),
      await invoke(tlsWith(gateway), altered),
      await invoke(tlsWith(gateway), signed(head("inv-expired", Date.now() - 60_000))),
    ];
    expect(answers).toEqual(["unauthorized", "unauthorized", "unauthorized", "unauthorized", "unauthorized", "unauthorized"]);
    expect(agent.heads).toEqual(["inv-ok"]);
  });

  // No hop waits longer than its caller: gRPC deadlines travel as relative
  // timeouts that each hop reads on arrival, so the sidecar must pass its
  // caller's on (grpc-js does not unless told) and cancel the agent's call
  // when its caller goes away. The agent here never answers: only the
  // deadline or the cancellation can end its side of the call.
  describe("deadlines and cancellation", () => {
    /** Slack for the time a deadline spends in transit between hops (it is re-read on arrival). */
    const transitMs = 250;
    let client: agentV1.AgentClient;
    beforeAll(() => {
      client = new agentV1.AgentClient(`127.0.0.1:${port}`, tlsWith(gateway), grpcChannelOptions);
    });
    afterAll(() => client?.close());

    /** The first call of `method` the agent sees after its first `count` calls (streams of earlier tests may still arrive). */
    async function callAfter(count: number, method: string): Promise<SeenCall> {
      const find = () => agent.calls.slice(count).find((c) => c.method === method);
      for (let i = 0; i < 100 && !find(); i++) await new Promise((r) => setTimeout(r, 20));
      const call = find();
      if (!call) throw new Error(`no ${method} call reached the agent`);
      return call;
    }

    it("gives the agent's side of a unary call its caller's deadline, and it ends there", async () => {
      const before = agent.calls.length;
      const deadline = Date.now() + 300;
      const answer = new Promise<grpc.ServiceError | null>((resolve) => client.status({}, new grpc.Metadata(), { deadline }, resolve));
      const upstream = await callAfter(before, "status");
      expect(Number(upstream.deadline)).toBeLessThanOrEqual(deadline + transitMs);
      expect(await settlesWithin(upstream.cancelled, 5_000)).toBe(true);
      expect((await answer)?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    });

    it("cancels the agent's side of a unary call its caller cancels", async () => {
      const before = agent.calls.length;
      const call = client.status({}, new grpc.Metadata(), {}, () => undefined);
      const upstream = await callAfter(before, "status");
      expect(upstream.deadline).toBe(Infinity);
      call.cancel();
      expect(await settlesWithin(upstream.cancelled, 5_000)).toBe(true);
    });

    it("gives the agent's side of an Invoke stream its caller's deadline, and it ends there", async () => {
      const before = agent.calls.length;
      const deadline = Date.now() + 300;
      const call = client.invoke(keyMetadata(ownKey), { deadline });
      const ended = new Promise<grpc.status>((resolve) => call.on("error", (err: grpc.ServiceError) => resolve(err.code)));
      call.write({ channel: 1, frame: { $case: "requestHead", value: signed(head("hang-stream")) } });
      const upstream = await callAfter(before, "invoke");
      expect(Number(upstream.deadline)).toBeLessThanOrEqual(deadline + transitMs);
      expect(await settlesWithin(upstream.cancelled, 5_000)).toBe(true);
      expect(await ended).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(agent.heads).toContain("hang-stream");
    });
  });

  it("tells the agent it may send whole answers only when the gateway asked, in its own entry, and never passes the context key", async () => {
    const metadata = keyMetadata(ownKey);
    metadata.set(wholeAnswersMetadata.key, wholeAnswersMetadata.value);
    expect(await invoke(tlsWith(gateway), signed(head("inv-whole")), metadata)).toBe("ran");
    const reached = agent.invokeMetadata.at(-1);
    expect(reached?.get(relayedWholeAnswersMetadata.key)).toEqual([relayedWholeAnswersMetadata.value]);
    // The gateway's own entry stops here: an agent behind an older sidecar (which would pass it on) never sends them.
    expect(reached?.get(wholeAnswersMetadata.key)).toEqual([]);
    expect(reached?.get(contextKeyMetadata.key)).toEqual([]);

    // A gateway that did not ask (or forged the sidecar's entry) gets none.
    const forged = keyMetadata(ownKey);
    forged.set(relayedWholeAnswersMetadata.key, relayedWholeAnswersMetadata.value);
    expect(await invoke(tlsWith(gateway), signed(head("inv-plain")), forged)).toBe("ran");
    expect(agent.invokeMetadata.at(-1)?.get(relayedWholeAnswersMetadata.key)).toEqual([]);
  });
});
