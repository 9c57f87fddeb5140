import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { admitPeer, createAuthority, issueCertificate, isRefusal, type Authority, type IssuedCertificate } from "@isle/pki";
import { controlV1, grpcChannelOptions } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { ControlClient } from "./control-client.js";
import { ControlPlanes } from "./control-planes.js";
import { controlPlaneCredentials, readAgentTls, type AgentTls } from "./control-tls.js";

/** Stands in for the gateway's control plane: records who called what, answers like the real one. */
async function fakeControlPlane(
  credentials: grpc.ServerCredentials,
  commands: controlV1.ControlCommand[] = [],
): Promise<{ port: number; calls: string[]; reports: controlV1.AgentReport[]; server: grpc.Server }> {
  const calls: string[] = [];
  const reports: controlV1.AgentReport[] = [];
  const caller = (call: Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext">) => {
    const peer = admitPeer(call.getAuthContext()?.sslPeerCertificate?.raw, "agent");
    return isRefusal(peer) ? "a stranger" : `agent ${peer.identity.name}`;
  };
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(controlV1.ControlPlaneService, {
    register(call: grpc.ServerDuplexStream<controlV1.AgentReport, controlV1.ControlCommand>) {
      let first = true;
      call.on("data", (report: controlV1.AgentReport) => {
        calls.push(`report ${report.agentId} from ${caller(call)}`);
        reports.push(report);
        if (!first) return;
        first = false;
        call.write({ command: { $case: "registered", value: { heartbeatIntervalMs: 1000 } } });
        for (const command of commands) call.write(command);
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
      if (call.request.functionId === "missing") return done({ code: grpc.status.NOT_FOUND, details: "no such function" });
      done(null, { version: "v1", vars: { API_TOKEN: "s3cret" } });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { port, calls, reports, server };
}

/**
 * A TCP relay to `port` whose kill() drops every connection and stops
 * listening: how a gateway that dies looks from the agent's side (a grpc-js
 * server shut down in-process leaves its open streams alone).
 */
async function relay(port: number): Promise<{ port: number; kill(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(port, "127.0.0.1");
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    kill() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
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

// With several gateways, the agent registers with each: every one must keep
// seeing its heartbeats, and code and env must still arrive when one is down.
describe("the agent's channels to several control planes (real TLS, real gRPC)", () => {
  let ca: Authority;
  let agentTls: AgentTls;
  let gatewayCert: IssuedCertificate;
  const servers: grpc.Server[] = [];
  let planes: ControlPlanes | undefined;

  beforeAll(async () => {
    ca = await createAuthority();
    const own = await issueCertificate(ca, { role: "agent", name: "node-1", hosts: [] });
    agentTls = { caPem: Buffer.from(ca.certPem), certPem: Buffer.from(own.certPem), keyPem: Buffer.from(own.keyPem) };
    gatewayCert = await issueCertificate(ca, { role: "gateway", name: "gw", hosts: ["127.0.0.1"] });
  });
  afterEach(() => {
    planes?.stop();
    for (const server of servers.splice(0)) server.forceShutdown();
  });

  async function gateway(commands: controlV1.ControlCommand[] = []) {
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(ca.certPem),
      [{ cert_chain: Buffer.from(gatewayCert.certPem), private_key: Buffer.from(gatewayCert.keyPem) }],
      true,
    );
    const plane = await fakeControlPlane(credentials, commands);
    servers.push(plane.server);
    return plane;
  }

  function connect(addresses: string[], onCommand?: (command: controlV1.ControlCommand, from: string) => void) {
    planes = new ControlPlanes({
      addresses,
      credentials: controlPlaneCredentials(agentTls),
      report: () => report("node-1"),
      logger: createLogger({ service: "agent-test", level: "silent" }),
      heartbeatMs: 50,
      ...(onCommand ? { onCommand } : {}),
    });
    planes.start();
    return planes;
  }

  it("heartbeats every control plane, and fetches from a live one when another has died", async () => {
    const [one, two] = [await gateway(), await gateway()];
    const dying = await relay(one.port);
    const planes = connect([`127.0.0.1:${dying.port}`, `127.0.0.1:${two.port}`]);
    expect(await waitFor(() => planes.registeredCount === 2)).toBe(true);
    expect(await waitFor(() => one.reports.length >= 3 && two.reports.length >= 3)).toBe(true);

    dying.kill();
    expect(await waitFor(() => planes.registeredCount === 1)).toBe(true);
    const before = two.calls.length;
    expect(await planes.fetchEnv("ten_1", "fn_1")).toEqual({ version: "v1", vars: { API_TOKEN: "s3cret" } });
    expect((await planes.fetchArtifact("a".repeat(64))).toString()).toBe("bundle");
    expect(two.calls.slice(before).filter((call) => !call.startsWith("report"))).toEqual(["env to agent node-1", "artifact to agent node-1"]);
    // The survivor keeps hearing from the agent.
    const heard = two.reports.length;
    expect(await waitFor(() => two.reports.length > heard + 2)).toBe(true);
  });

  it("fails over to the next address when one refuses connections", async () => {
    const live = await gateway();
    const planes = connect(["127.0.0.1:1", `127.0.0.1:${live.port}`]);
    // Nothing is registered yet, so the fetch tries the addresses in order:
    // the first refuses connections (UNAVAILABLE), the second answers.
    expect(planes.registeredCount).toBe(0);
    expect(await planes.fetchEnv("ten_1", "fn_1")).toMatchObject({ version: "v1" });
    expect(live.calls.filter((call) => call.startsWith("env"))).toEqual(["env to agent node-1"]);
  });

  it("takes a control plane's answer, even an error, without asking another", async () => {
    const [one, two] = [await gateway(), await gateway()];
    const planes = connect([`127.0.0.1:${one.port}`, `127.0.0.1:${two.port}`]);
    expect(await waitFor(() => planes.registeredCount === 2)).toBe(true);
    await expect(planes.fetchEnv("ten_1", "missing")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const envCalls = [...one.calls, ...two.calls].filter((call) => call.startsWith("env"));
    expect(envCalls).toEqual(["env to agent node-1"]);
  });

  it("hands on the commands of every control plane, saying which one sent each", async () => {
    const drain: controlV1.ControlCommand = { command: { $case: "drain", value: { resume: false } } };
    const resume: controlV1.ControlCommand = { command: { $case: "drain", value: { resume: true } } };
    const [one, two] = [await gateway([drain]), await gateway([resume])];
    const heard: string[] = [];
    connect([`127.0.0.1:${one.port}`, `127.0.0.1:${two.port}`], (command, from) => {
      if (command.command?.$case === "drain") heard.push(`${from} resume=${command.command.value.resume}`);
    });
    expect(await waitFor(() => heard.length === 2)).toBe(true);
    expect(heard.sort()).toEqual([`127.0.0.1:${one.port} resume=false`, `127.0.0.1:${two.port} resume=true`].sort());
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
