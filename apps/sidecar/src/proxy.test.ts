import { createPrivateKey, createSecretKey, randomBytes, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthority, issueCertificate, type Authority, type IssuedCertificate } from "@isle/pki";
import { agentV1, contextKeyGrant, contextKeyMetadata, contextMac, grpcChannelOptions } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { TenantSlots } from "./limits.js";
import { createProxyServer } from "./proxy.js";

/** Stands in for the agent behind the sidecar: records every frame that reaches it and answers each head. */
function recordingAgent(socket: string): Promise<{ heads: string[]; server: grpc.Server }> {
  const heads: string[] = [];
  const server = new grpc.Server();
  server.addService(agentV1.AgentService, {
    invoke(call: grpc.ServerDuplexStream<agentV1.InvokeFrame, agentV1.InvokeFrame>) {
      call.on("data", (frame: agentV1.InvokeFrame) => {
        if (frame.frame?.$case !== "requestHead") return;
        heads.push(frame.frame.value.invocationId);
        call.write({ channel: frame.channel, frame: { $case: "trailer", value: { wallMs: 1, cpuMs: 0, errorCode: "", errorMessage: "ran" } } });
      });
      call.on("end", () => call.end());
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve({ heads, server }))),
  );
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
  let agent: { heads: string[]; server: grpc.Server };
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
});
