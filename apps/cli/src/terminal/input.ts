import type { CliIo, Output } from "../context.js";
import { usageError } from "../http/cli-error.js";

/** All of stdin, as text (a piped secret, key or body). */
export async function readAll(stdin: CliIo["stdin"]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * A value typed at a hidden prompt (nothing echoed) when stdin is a terminal, else all of
 * stdin with one trailing newline removed (`echo "$TOKEN" | isle secrets set …`).
 */
export async function readSecret(io: CliIo, prompt: string): Promise<string> {
  const value = io.stdin.isTTY && io.stdin.setRawMode ? await hiddenPrompt(io, prompt) : (await readAll(io.stdin)).toString("utf8").replace(/\r?\n$/, "");
  if (value === "") throw usageError("the value is empty", "type it at the prompt, or pipe it on stdin");
  return value;
}

function hiddenPrompt(io: CliIo, prompt: string): Promise<string> {
  const { stdin } = io;
  const stderr: Output = io.stderr;
  stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done();
        if (ch === "\u0003") return done(usageError("cancelled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** Asks yes/no on a terminal; without one, the caller must have passed --yes. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  if (!io.stdin.isTTY) throw usageError(`${question.replace(/\?$/, "")}: refusing without a terminal`, "pass --yes to confirm");
  io.stderr.write(`${question} [y/N] `);
  io.stdin.setEncoding("utf8");
  io.stdin.resume();
  const answer = await new Promise<string>((resolve) => io.stdin.once("data", (text) => resolve(String(text))));
  io.stdin.pause();
  return /^y(es)?$/i.test(answer.trim());
}
