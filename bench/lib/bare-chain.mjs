// The bare chain: Isle's invoke topology with none of Isle's work, to tell what
// the wiring alone costs on this machine from what Isle's code adds to it.
//
//   client ─HTTP→ front ─gRPC, mTLS→ relay ─gRPC, Unix socket→ agent ─HTTP (undici Pool)→ workerd loader
//
// Three Node processes, as in Isle (gateway, sidecar, agent), each doing the
// least its place needs: the front turns a request into ONE message on a
// long-lived bidi stream (channel number, JSON head, body) and the answer back;
// the relay copies messages between its caller's stream and one to the agent,
// undecoded; the agent makes the HTTP request to the workerd pool and answers
// with one message. No auth, limits, records, logs, spans, flow control or
// failover — so no implementation of this topology with these libraries can be
// expected to be cheaper. Run as `node bare-chain.mjs <role> <json>` by
// startBareChain; the roles are at the bottom of this file.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./isle.mjs";

// Resolved from the agent's workspace: the same grpc-js and undici Isle runs.
const require = createRequire(join(fileURLToPath(new URL("../../apps/agent/package.json", import.meta.url))));
const method = "/bench.BareChain/Invoke";
const asIs = (b) => b;
/** The one method every hop serves: a bidi stream of messages moved as bytes. */
const invokeMethod = { path: method, requestStream: true, responseStream: true, requestSerialize: asIs, requestDeserialize: asIs, responseSerialize: asIs, responseDeserialize: asIs };
// Isle's hops turn channelz and retries off too (packages/proto channel-options.ts).
const channelOptions = { "grpc.enable_channelz": 0, "grpc.enable_retries": 0 };

/** A CA, a server certificate for localhost and a client certificate, P-256, under `dir`. */
function makeCerts(dir) {
  const sh = (script) => execFileSync("sh", ["-c", script], { cwd: dir, stdio: "ignore" });
  const key = (name) => `openssl ecparam -name prime256v1 -genkey -noout -out ${name}.key`;
  sh(`${key("ca")} && openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 2 -out ca.crt`);
  for (const [name, ext] of [
    ["server", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ["client", "extendedKeyUsage=clientAuth"],
  ]) {
    sh(
      `${key(name)} && openssl req -new -key ${name}.key -subj /CN=${name} -out ${name}.csr && ` +
        `printf '%s\\n' '${ext}' > ${name}.ext && ` +
        `openssl x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ${name}.ext -out ${name}.crt`,
    );
  }
  const read = (f) => readFileSync(join(dir, f)).toString("latin1");
  return Object.fromEntries(["ca.crt", "server.key", "server.crt", "client.key", "client.crt"].map((f) => [f, read(f)]));
}

/**
 * Starts agent, relay and front in front of `upstream` (the loader pool's URL);
 * resolves { url, pids, stop }. `relay: false` leaves the relay out: the front
 * then speaks mTLS to the agent itself (what a node without a separate
 * sidecar would be).
 */
export async function startBareChain({ dir, upstream, relay: withRelay = true }) {
  const certs = makeCerts(dir);
  const agentSocket = join(dir, "agent.sock");
  const [relayPort, frontPort] = [await freePort(), await freePort()];
  const self = fileURLToPath(import.meta.url);
  const procs = {};
  const run = (role, config) => {
    procs[role] = spawn("/usr/bin/setpriv", ["--pdeathsig", "SIGKILL", "--", process.execPath, self, role, JSON.stringify(config)], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  };
  if (withRelay) {
    run("agent", { agentSocket, upstream });
    run("relay", { agentSocket, relayPort, certs });
  } else {
    run("agent", { agentPort: relayPort, upstream, certs });
  }
  run("front", { relayPort, frontPort, certs });
  const stop = () => Object.values(procs).forEach((p) => p.kill("SIGKILL"));
  const url = `http://127.0.0.1:${frontPort}/`;
  for (let i = 0; i < 100; i++) {
    if (Object.values(procs).some((p) => p.exitCode !== null)) break;
    if (await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)) {
      return { url, pids: Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, [p.pid]])), stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error("bare chain did not start");
}

// A message: u32 channel, u32 head length, JSON head, body.
function encode(channel, head, body) {
  const json = Buffer.from(JSON.stringify(head));
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(channel, 0);
  prefix.writeUInt32BE(json.length, 4);
  return Buffer.concat([prefix, json, body]);
}
function decode(message) {
  const length = message.readUInt32BE(4);
  return { channel: message.readUInt32BE(0), head: JSON.parse(message.subarray(8, 8 + length)), body: message.subarray(8 + length) };
}
const hopHeaders = new Set(["connection", "keep-alive", "transfer-encoding", "host", "upgrade"]);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !hopHeaders.has(k)));

function front({ relayPort, frontPort, certs }) {
  const grpc = require("@grpc/grpc-js");
  const credentials = grpc.credentials.createSsl(Buffer.from(certs["ca.crt"]), Buffer.from(certs["client.key"]), Buffer.from(certs["client.crt"]));
  const client = new grpc.Client(`localhost:${relayPort}`, credentials, channelOptions);
  // The relay starts alongside: wait for it before opening the stream.
  client.waitForReady(Date.now() + 10_000, (err) => {
    if (err) die("front", err);
    serveFront(client.makeBidiStreamRequest(method, asIs, asIs, new grpc.Metadata()), frontPort);
  });
}

function die(role, err) {
  console.error(`bare chain ${role}: ${err.message}`);
  process.exit(1);
}

function serveFront(stream, frontPort) {
  const waiting = new Map();
  stream.on("data", (message) => {
    const { channel, head, body } = decode(message);
    const res = waiting.get(channel);
    waiting.delete(channel);
    res.writeHead(head.status, head.headers);
    res.end(body);
  });
  stream.on("error", (err) => die("front", err));
  let next = 0;
  createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const channel = (next = (next + 1) >>> 0);
      waiting.set(channel, res);
      stream.write(encode(channel, { method: req.method, url: req.url, headers: endToEnd(req.headers) }, Buffer.concat(chunks)));
    });
  }).listen(frontPort, "127.0.0.1");
}

/** mTLS: the server's certificate, and a client certificate from the CA required. */
function serverCredentials(grpc, certs) {
  const pair = { private_key: Buffer.from(certs["server.key"]), cert_chain: Buffer.from(certs["server.crt"]) };
  return grpc.ServerCredentials.createSsl(Buffer.from(certs["ca.crt"]), [pair], true);
}

function relay({ agentSocket, relayPort, certs }) {
  const grpc = require("@grpc/grpc-js");
  const agent = new grpc.Client(`unix:${agentSocket}`, grpc.credentials.createInsecure(), channelOptions);
  const server = new grpc.Server(channelOptions);
  server.addService({ invoke: invokeMethod }, {
    invoke(call) {
      const upstream = agent.makeBidiStreamRequest(method, asIs, asIs, new grpc.Metadata());
      call.on("data", (m) => upstream.write(m));
      upstream.on("data", (m) => call.write(m));
      call.on("end", () => upstream.end());
      upstream.on("end", () => call.end());
      // A broken stream ends the chain: the benchmark sees it fail rather than wait for answers.
      upstream.on("error", (err) => die("relay", err));
      call.on("error", (err) => die("relay", err));
    },
  });
  // The agent starts alongside: listen once it is there, so a caller's stream is never opened towards nothing.
  agent.waitForReady(Date.now() + 10_000, (err) => {
    if (err) die("relay", err);
    server.bindAsync(`127.0.0.1:${relayPort}`, serverCredentials(grpc, certs), (bindErr) => bindErr && die("relay", bindErr));
  });
}

function agent({ agentSocket, agentPort, upstream, certs }) {
  const grpc = require("@grpc/grpc-js");
  const { Pool } = require("undici");
  const pool = new Pool(upstream, { connections: 256 });
  const server = new grpc.Server(channelOptions);
  server.addService({ invoke: invokeMethod }, {
    invoke(call) {
      call.on("data", async (message) => {
        const { channel, head, body } = decode(message);
        try {
          const res = await pool.request({ method: head.method, path: head.url, headers: head.headers, body: body.length ? body : undefined });
          const answer = Buffer.from(await res.body.arrayBuffer());
          call.write(encode(channel, { status: res.statusCode, headers: endToEnd(res.headers) }, answer));
        } catch (err) {
          call.write(encode(channel, { status: 502, headers: {} }, Buffer.from(String(err))));
        }
      });
      call.on("end", () => call.end());
    },
  });
  const [address, credentials] = agentPort ? [`127.0.0.1:${agentPort}`, serverCredentials(grpc, certs)] : [`unix:${agentSocket}`, grpc.ServerCredentials.createInsecure()];
  server.bindAsync(address, credentials, (err) => err && die("agent", err));
}

const [role, config] = process.argv.slice(2);
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const roles = { front, relay, agent };
  if (!roles[role]) throw new Error(`bare-chain.mjs: unknown role ${role}`);
  roles[role](JSON.parse(config));
}
