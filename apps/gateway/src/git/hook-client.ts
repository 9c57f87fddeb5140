#!/usr/bin/env node
/**
 * The program behind the platform's `pre-receive` and `post-receive` hooks. It runs inside
 * git, which the gateway started for one push; it hands the hook's input (ref updates, push
 * options, where the quarantined objects are) to the gateway over a Unix socket, with the
 * push's one-time token, and prints what the gateway answers, which git shows the pusher as
 * `remote:` lines. The gateway decides; this exits with the code it sends. No answer (the
 * gateway went away) is a refusal.
 *
 * It reads its environment directly: it is a separate program, not part of the gateway's
 * configuration.
 */
import { request } from "node:http";

const hook = process.argv[2];
const socketPath = process.env["ISLE_GIT_HOOK_SOCKET"];
const token = process.env["ISLE_GIT_PUSH_TOKEN"];

async function main(): Promise<number> {
  if ((hook !== "pre-receive" && hook !== "post-receive") || !socketPath || !token) {
    process.stdout.write("isle: this repository only accepts pushes through the Isle gateway\n");
    return 1;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const pushOptions: string[] = [];
  const count = Number(process.env["GIT_PUSH_OPTION_COUNT"] ?? "0");
  for (let i = 0; i < count; i++) pushOptions.push(process.env[`GIT_PUSH_OPTION_${i}`] ?? "");
  const body = JSON.stringify({
    hook,
    token,
    updates: Buffer.concat(chunks).toString("utf8"),
    pushOptions,
    quarantine: process.env["GIT_QUARANTINE_PATH"] ?? null,
  });
  return new Promise((resolve) => {
    const req = request({ socketPath, path: `/${hook}`, method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let pending = "";
      let code = 1;
      res.setEncoding("utf8");
      res.on("data", (text: string) => {
        pending += text;
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          const message = JSON.parse(line) as { line?: string; exit?: number };
          if (message.line !== undefined) process.stdout.write(`${message.line}\n`);
          if (message.exit !== undefined) code = message.exit;
        }
      });
      res.on("end", () => resolve(code));
      res.on("error", () => resolve(1));
    });
    req.on("error", () => {
      process.stdout.write("isle: the gateway is not answering; the push is refused\n");
      resolve(1);
    });
    req.end(body);
  });
}

main().then(
  (code) => (process.exitCode = code),
  () => (process.exitCode = 1),
);
