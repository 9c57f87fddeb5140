import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { admitPeer, createAuthority, issueCertificate, isRefusal, type Authority, type IssuedCertificate } from "@isle/pki";
import { controlV1, grpcChannelOptions } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { ControlClient } from "./control-client.js";
import { controlPlaneCredentials, readAgentTls, type AgentTls } from "./control-tls.js";

/** Stands in for the gateway's control plane: records who called what, answers like the real one. */
async function fakeControlPlane(credentials: grpc.ServerCredentials): Promise<{ port: number; calls: string[]; server: grpc.Server }> {
  const calls: string[] = [];
  const caller = (call: Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext">) => {
    const peer = admitPeer(call.getAuthContext()?.sslPeerCertificate?.raw, "agent");
    return isRefusal(peer) ? "a stranger" : `agent ${peer.identity.name}`;
  };
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(controlV1.ControlPlaneService, {
    register(call: grpc.ServerDuplexStream<controlV1.AgentReport, controlV1.ControlCommand>) {
      call.on("data", (report: controlV1.AgentReport) => {
        calls.push(`report ${report.agentId} from ${caller(call)}`);
        call.write({ command: { $case: "registered", value: { heartbeatIntervalMs: 1000 } } });
      });
      call.on("end", () => call.end());
    },
    getArtifact(call: grpc.ServerWritableStream<controlV1.GetArtifactRequest, controlV1.Chunk>) {
      calls.push(`artifact to ${caller(call)}`);
      call.write({ data: Buffer.from("bundle") });
      call.end();
    },
    getEnv(call: grpc.ServerUnaryCall<controlV1.GetEnvRequest, controlV1.GetEnvResponse>, done: grpc.sendUnaryData<controlV1.GetEnvResponse>) {
      calls.push(`env to ${caller(call)}`);
      done(null, { version: "v1", vars: { API_TOKEN: "s3cret" } });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { port, calls, server };
}

function report(agentId: string): controlV1.AgentReport {
  return { agentId, address: "127.0.0.1:7443", capacity: 10, inFlight: 0, loaded: [], sentAtUnixMs: 0, draining: false, workerdReady: 1 };
}

async function waitFor(condition: () => boolean, ms = 5000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

// The agent takes code, env and secrets from whatever answers at the control
// address: it must talk only to a gateway of its own platform, over TLS.
describe("the agent's control plane channel (real TLS, real gRPC)", () => {
  let ca: Authority;
  let agentTls: AgentTls;
  const servers: grpc.Server[] = [];
  const clients: ControlClient[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    ca = await createAuthority();
    const own = await issueCertificate(ca, { role: "agent", name: "node-1", hosts: [] });
    agentTls = { caPem: Buffer.from(ca.certPem), certPem: Buffer.from(own.certPem), keyPem: Buffer.from(own.keyPem) };
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.stop();
    for (const server of servers.splice(0)) server.forceShutdown();
    logs.length = 0;
  });

  /** A control plane serving with `cert` (trusting the platform CA for its clients), and an agent client of it. */
  async function connect(cert: IssuedCertificate | "plaintext") {
    const credentials =
      cert === "plaintext"
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ cert_chain: Buffer.from(cert.certPem), private_key: Buffer.from(cert.keyPem) }], true);
    const plane = await fakeControlPlane(credentials);
    servers.push(plane.server);
    const destination = new Writable({ write: (chunk, _encoding, done) => (logs.push(String(chunk)), done()) });
    const client = new ControlClient({
      address: `127.0.0.1:${plane.port}`,
      credentials: controlPlaneCredentials(agentTls),
      report: () => report("node-1"),
      logger: createLogger({ service: "agent-test", level: "warn", destination }),
    });
    clients.push(client);
    client.start();
    return { client, calls: plane.calls };
  }

  it("registers with a gateway of its platform and reads env and artifacts, showing its agent certificate", async () => {
    const gateway = await issueCertificate(ca, { role: "gateway", name: "gw-1", hosts: ["127.0.0.1"] });
    const { client, calls } = await connect(gateway);
    expect(await waitFor(() => client.isRegistered)).toBe(true);
    expect(await client.fetchEnv("ten_1", "fn_1")).toEqual({ version: "v1", vars: { API_TOKEN: "s3cret" } });
    expect((await client.fetchArtifact("a".repeat(64))).toString()).toBe("bundle");
    expect(calls).toEqual(expect.arrayContaining(["report node-1 from agent node-1", "env to agent node-1", "artifact to agent node-1"]));
  });

  it("sends nothing to a plaintext server, another CA's, a sidecar's, or one not named for the address dialled", async () => {
    const impostors: Record<string, IssuedCertificate | "plaintext"> = {
      plaintext: "plaintext",
      "another CA": await issueCertificate(await createAuthority(), { role: "gateway", name: "gw-x", hosts: ["127.0.0.1"] }),
      "a sidecar": await issueCertificate(ca, { role: "sidecar", name: "node-2", hosts: ["127.0.0.1"] }),
      "another address": await issueCertificate(ca, { role: "gateway", name: "gw-2", hosts: ["10.9.9.9"] }),
    };
    for (const [what, cert] of Object.entries(impostors)) {
      const { client, calls } = await connect(cert);
      await expect(client.fetchEnv("ten_1", "fn_1"), what).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(client.fetchArtifact("a".repeat(64)), what).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(await waitFor(() => client.isRegistered, 700), what).toBe(false);
      expect(calls, what).toEqual([]);
    }
  });

  it("says once, not at every retry, why it cannot register", async () => {
    await connect(await issueCertificate(ca, { role: "sidecar", name: "node-2", hosts: ["127.0.0.1"] }));
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const warnings = logs.filter((line) => line.includes("cannot register with the control plane"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("not a gateway");
  });
});

describe("readAgentTls", () => {
  const dir = mkdtempSync(join(tmpdir(), "isle-agent-tls-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function files(role: "agent" | "sidecar", name: string) {
    const ca = await createAuthority();
    const cert = await issueCertificate(ca, { role, name, hosts: [] });
    const paths = { caFile: join(dir, "ca.crt"), certFile: join(dir, `${role}-${name}.crt`), keyFile: join(dir, `${role}-${name}.key`) };
    writeFileSync(paths.caFile, ca.certPem);
    writeFileSync(paths.certFile, cert.certPem);
    writeFileSync(paths.keyFile, cert.keyPem);
    return paths;
  }

  it("takes the agent's own certificate", async () => {
    expect(readAgentTls(await files("agent", "node-1"), "node-1").certPem.toString()).toContain("BEGIN CERTIFICATE");
  });

  it("refuses at start a certificate of another agent or another part, saying how to issue the right one", async () => {
    await expect(files("agent", "node-2").then((f) => readAgentTls(f, "node-1"))).rejects.toThrow(
      "ISLE_TLS_CERT names agent node-2, not agent node-1: issue it with isle-certs issue --role agent --name node-1",
    );
    await expect(files("sidecar", "node-1").then((f) => readAgentTls(f, "node-1"))).rejects.toThrow(/names sidecar node-1, not agent node-1/);
  });
});
