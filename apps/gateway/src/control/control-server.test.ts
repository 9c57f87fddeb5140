import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthority, issueCertificate, type Authority, type IssuedCertificate, type Role } from "@isle/pki";
import { controlV1, grpcChannelOptions } from "@isle/proto";
import { createLogger } from "@isle/telemetry";
import { createControlServer } from "./control-server.js";
import { controlServerCredentials } from "./control-tls.js";
import { Membership } from "./membership.js";

const hash = "a".repeat(64);

// The control plane hands out functions' env, secrets and code: only agents
// of the platform CA may register or read them.
describe("control plane admission (real TLS, real gRPC)", () => {
  let ca: Authority;
  let server: grpc.Server;
  let port = 0;
  const membership = new Membership();
  /** What the stores were asked for: a refused caller must reach neither. */
  const reads: string[] = [];

  beforeAll(async () => {
    ca = await createAuthority();
    const gateway = await issueCertificate(ca, { role: "gateway", name: "gw-1", hosts: ["127.0.0.1"] });
    server = createControlServer({
      membership,
      artifacts: { get: async (h) => (reads.push(`artifact ${h}`), Buffer.from("bundle bytes")) },
      env: { current: async (t, f) => (reads.push(`env ${t}/${f}`), { version: "v1", vars: { API_TOKEN: "s3cret" } }) },
      logger: createLogger({ service: "control-test", level: "silent" }),
    });
    const credentials = controlServerCredentials({ caPem: ca.certPem, certPem: gateway.certPem, keyPem: gateway.keyPem });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  });
  afterAll(() => server?.forceShutdown());

  const tlsWith = (cert: IssuedCertificate, trust = ca) =>
    grpc.credentials.createSsl(Buffer.from(trust.certPem), Buffer.from(cert.keyPem), Buffer.from(cert.certPem));
  const withoutCertificate = () => grpc.credentials.createSsl(Buffer.from(ca.certPem));
  const issue = (role: Role, name: string, authority = ca) => issueCertificate(authority, { role, name, hosts: [] });

  /** Runs one call on a fresh client; the answer as text, or `grpc <STATUS>`. */
  async function call(credentials: grpc.ChannelCredentials, run: (client: controlV1.ControlPlaneClient) => Promise<string>): Promise<string> {
    const client = new controlV1.ControlPlaneClient(`127.0.0.1:${port}`, credentials, grpcChannelOptions);
    try {
      return await run(client).catch((err: grpc.ServiceError) => `grpc ${grpc.status[err.code]}`);
    } finally {
      client.close();
    }
  }
  const deadline = () => ({ deadline: Date.now() + 5000 });
  const methods: Record<keyof typeof controlV1.ControlPlaneService, (credentials: grpc.ChannelCredentials, agentId?: string) => Promise<string>> = {
    register: (credentials, agentId = "node-1") =>
      call(credentials, (client) => {
        const stream = client.register(deadline());
        return new Promise<string>((resolve, reject) => {
          stream.on("data", (command: controlV1.ControlCommand) => (resolve(command.command?.$case ?? "?"), stream.cancel()));
          stream.on("error", reject);
          stream.write(report(agentId));
        });
      }),
    getArtifact: (credentials) =>
      call(credentials, async (client) => {
        const chunks: Buffer[] = [];
        for await (const chunk of client.getArtifact({ hash }, deadline()) as AsyncIterable<controlV1.Chunk>) chunks.push(chunk.data);
        return Buffer.concat(chunks).toString();
      }),
    getEnv: (credentials) =>
      call(
        credentials,
        (client) =>
          new Promise<string>((resolve, reject) =>
            client.getEnv({ tenantId: "ten_1", functionId: "fn_1" }, new grpc.Metadata(), deadline(), (err, res) =>
              err ? reject(err) : resolve(JSON.stringify(res.vars)),
            ),
          ),
      ),
  };

  it("serves an agent of the platform: it registers, and reads env and artifacts", async () => {
    const agent = tlsWith(await issue("agent", "node-1"));
    expect(await methods.register(agent)).toBe("registered");
    expect(membership.all().map((m) => m.agentId)).toContain("node-1");
    expect(await methods.getEnv(agent)).toBe(JSON.stringify({ API_TOKEN: "s3cret" }));
    expect(await methods.getArtifact(agent)).toBe("bundle bytes");
    expect(reads).toEqual(["env ten_1/fn_1", `artifact ${hash}`]);
  });

  it("refuses plaintext callers, and callers without a certificate or with one of another CA, at the handshake", async () => {
    const stranger = tlsWith(await issue("agent", "node-1", await createAuthority()));
    const before = reads.length;
    for (const [method, run] of Object.entries(methods)) {
      expect(await run(grpc.credentials.createInsecure()), `${method} in plaintext`).toBe("grpc UNAVAILABLE");
      expect(await run(withoutCertificate()), `${method} without a certificate`).toBe("grpc UNAVAILABLE");
      expect(await run(stranger), `${method} with another CA's certificate`).toBe("grpc UNAVAILABLE");
    }
    expect(reads.length).toBe(before);
  });

  it("refuses the platform's other parts in every ControlPlane method", async () => {
    const before = reads.length;
    for (const role of ["sidecar", "gateway"] as const) {
      const part = tlsWith(await issue(role, "node-9"));
      for (const [method, run] of Object.entries(methods)) {
        expect(await run(part, "node-9"), `${method} as a ${role}`).toBe("grpc PERMISSION_DENIED");
      }
    }
    expect(reads.length).toBe(before);
    expect(membership.all().map((m) => m.agentId)).not.toContain("node-9");
  });

  it("refuses an agent registering under another agent's name", async () => {
    const agent = tlsWith(await issue("agent", "node-2"));
    expect(await methods.register(agent, "node-3")).toBe("grpc PERMISSION_DENIED");
    expect(membership.all().map((m) => m.agentId)).not.toContain("node-3");
  });
});

function report(agentId: string): controlV1.AgentReport {
  return { agentId, address: "127.0.0.1:7443", capacity: 10, inFlight: 0, loaded: [], sentAtUnixMs: Date.now(), draining: false, workerdReady: 1 };
}
