/**
 * The starting points `isle init` writes. Kept as strings in the code, so the built CLI needs no
 * template files beside it.
 */
export interface Template {
  description: string;
  files: Record<string, string>;
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

const stack = (name: string) => `# Functions deployed together by \`isle deploy\` (or \`isle deploy -f isle.yaml --filter ${name}\`).
version: 1
functions:
  ${name}:
    path: .
    entry: index.ts
    visibility: private
    env:
      GREETING: Hello
`;

const gitignore = "node_modules/\n.isle/\n";

/** The templates by name; `container` is refused until the container runtime exists. */
export function templateFor(kind: "deno" | "workers", name: string): Template {
  const source = kind === "deno" ? deno : workers;
  return {
    description: kind === "deno" ? "Deno.serve" : "export default { fetch }",
    files: { "index.ts": source, "isle.yaml": stack(name), ".gitignore": gitignore },
  };
}

export const templateNames = ["deno", "workers", "container"] as const;
