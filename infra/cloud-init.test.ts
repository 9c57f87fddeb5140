import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// The cloud-init user data, as written and as rendered with sample values, against cloud-init's own
// schema (Debian's cloud-init package; scripts/setup.sh installs it).
const dir = join(resolve(dirname(fileURLToPath(import.meta.url))), "cloud-init");
const work = mkdtempSync(join(tmpdir(), "isle-cloud-init-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function schema(file: string): { status: number | null; output: string } {
  const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
  if (result.error) throw new Error(`cloud-init is needed (Debian package cloud-init): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const variables = (text: string) => [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1] ?? ""))];
const pem = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");

describe.each(["gateway.yaml", "agent.yaml"])("cloud-init %s", (name) => {
  const text = readFileSync(join(dir, name), "utf8");

  it("is valid cloud-config, as written and rendered", () => {
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect(schema(join(dir, name))).toMatchObject({ status: 0 });
    const rendered = text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, key: string) =>
      key.endsWith("_B64") ? pem : key === "ISLE_RELEASE_URL" ? "https://releases.example.com/isle-1.0.0.tar.gz" : `sample-${key.toLowerCase()}`,
    );
    const file = join(work, name);
    writeFileSync(file, rendered);
    const result = schema(file);
    expect(result, result.output).toMatchObject({ status: 0 });
  });

  it("names every variable it uses in its header, and installs through install.sh with its role", () => {
    const header = text.split("\n").filter((line) => line.startsWith("#")).join("\n");
    for (const key of variables(text.split("\n").filter((line) => !line.startsWith("#")).join("\n"))) expect(header).toContain(key);
    expect(text).toContain(`infra/install.sh --role ${name === "gateway.yaml" ? "gateway" : "agent"}`);
  });

  it("would fail a broken file", () => {
    const file = join(work, `broken-${name}`);
    writeFileSync(file, text.replace("packages:\n", "packages: 3\nunused:\n"));
    expect(schema(file).status).not.toBe(0);
  });
});
