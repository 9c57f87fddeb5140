/**
 * The starting points `isle init` writes. Kept as strings in the code, so the built CLI needs no
 * template files beside it.
 */
export interface Template {
  description: string;
  files: Record<string, string>;
  /** Files written with mode 0755. */
  executable?: string[];
}

const deno = `// A Deno-style function: the same file runs under \`deno run --allow-net index.ts\` and on Isle.
Deno.serve(async (request: Request) => {
  const url = new URL(request.url);
  const name = url.searchParams.get("name") ?? "world";
  // Variables and secrets: \`isle env set\` and \`isle secrets set\`.
  const greeting = Deno.env.get("GREETING") ?? "Hello";
  console.log(\`\${request.method} \${url.pathname}\`);
  return Response.json({ message: \`\${greeting}, \${name}!\` });
});
`;

const workers = `// A Workers-style function: a module whose default export has a fetch handler.
export default {
  async fetch(request: Request, env: Record<string, string>): Promise<Response> {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "world";
    // Variables and secrets: \`isle env set\` and \`isle secrets set\`.
    const greeting = env.GREETING ?? "Hello";
    console.log(\`\${request.method} \${url.pathname}\`);
    return Response.json({ message: \`\${greeting}, \${name}!\` });
  },
};
`;

// Container templates: the user's code only. The server that calls it (the watchdog) is part of the
// root filesystem (infra/rootfs/watchdog/), so these files stay what the user edits.
const python = `# A Python function run in a container: handle(request) is called for each request.
# request: method, path, query (raw string), args (name -> [values]), headers (lower-case names),
# body (bytes); request.json() and request.text() decode the body.
# Return a dict {"status", "headers", "body"} (a dict or list body is sent as JSON), a str or bytes
# (status 200), or None (204). For full control define a WSGI app named \`app\` instead.
import os


def handle(request):
    name = request.args.get("name", ["world"])[0]
    # Variables and secrets: \`isle env set\` and \`isle secrets set\`; print() goes to the logs.
    greeting = os.environ.get("GREETING", "Hello")
    print(f"{request.method} {request.path}")
    return {"status": 200, "body": {"message": f"{greeting}, {name}!"}}
`;

const nodeContainer = `// A Node.js function run in a container, OpenFaaS-style: event is the request, context the response.
// event: method, path, query, headers, body (parsed JSON, a string for text, else a Buffer).
"use strict";

module.exports = async (event, context) => {
  const name = event.query.name ?? "world";
  // Variables and secrets: \`isle env set\` and \`isle secrets set\`; console output goes to the logs.
  const greeting = process.env.GREETING ?? "Hello";
  console.log(\`\${event.method} \${event.path}\`);
  return context.status(200).succeed({ message: \`\${greeting}, \${name}!\` });
};
`;

const exec = `#!/bin/sh
# Any executable, run once per request: the body on stdin, the response body on stdout (status 200;
# a non-zero exit answers 500). CGI variables describe the request: REQUEST_METHOD, PATH_INFO,
# QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH and HTTP_<HEADER>; the function's env is there too.
# stderr goes to the logs. Replace this script with any program the root filesystem can run.
echo "$REQUEST_METHOD $PATH_INFO" >&2
printf '%s! %s bytes came to %s\\n' "\${GREETING:-Hello}" "\${CONTENT_LENGTH:-0}" "$PATH_INFO"
`;

const stack = (name: string, entry: string, runtime?: "container") => `# Functions deployed together by \`isle deploy\` (or \`isle deploy -f isle.yaml --filter ${name}\`).
version: 1
functions:
  ${name}:
    path: .
    entry: ${entry}
${runtime ? `    runtime: ${runtime}\n` : ""}    visibility: private
    env:
      GREETING: Hello
`;

const gitignore = "node_modules/\n.isle/\n";

/** The template names `isle init --template` accepts. */
export const templateNames = ["deno", "workers", "python", "node-container", "exec"] as const;
export type TemplateName = (typeof templateNames)[number];

export function isTemplateName(value: string): value is TemplateName {
  return (templateNames as readonly string[]).includes(value);
}

/** A template's files for a function called `name`. */
export function templateFor(kind: TemplateName, name: string): Template {
  switch (kind) {
    case "deno":
    case "workers":
      return {
        description: kind === "deno" ? "Deno.serve" : "export default { fetch }",
        files: { "index.ts": kind === "deno" ? deno : workers, "isle.yaml": stack(name, "index.ts"), ".gitignore": gitignore },
      };
    case "python":
      return { description: "Python 3 handle(request), in a container", files: { "handler.py": python, "isle.yaml": stack(name, "handler.py", "container"), ".gitignore": "__pycache__/\n.isle/\n" } };
    case "node-container":
      return { description: "Node.js (event, context) handler, in a container", files: { "index.js": nodeContainer, "isle.yaml": stack(name, "index.js", "container"), ".gitignore": gitignore } };
    case "exec":
      return {
        description: "any executable: request on stdin, response on stdout, in a container",
        files: { handler: exec, "isle.yaml": stack(name, "handler", "container"), ".gitignore": ".isle/\n" },
        executable: ["handler"],
      };
  }
}
