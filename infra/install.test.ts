import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyUnits } from "./systemd-analyze.js";

// install.sh against a throwaway root: the layout a VM gets, idempotence, upgrade and rollback, and
// the installed units checked by systemd-analyze. Real scripts and tools, nothing mocked.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const install = join(repo, "infra/install.sh");
const switchRelease = join(repo, "infra/switch-release.sh");
const units = ["isle-gateway.service", "isle-sidecar.service", "isle-agent.service"];

const run = (file: string, args: string[]) => execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const mode = (path: string) => statSync(path).mode & 0o7777;

let work: string;
/** An unpacked release from package-release.sh, its node_modules a link to the checkout's (a VM's release carries its own). */
function release(version: string): string {
  for (const app of ["gateway", "sidecar", "agent"]) {
    if (!existsSync(join(repo, `apps/${app}/dist/main.js`))) throw new Error(`apps/${app}/dist is missing: run npm run build first`);
  }
  const out = join(work, "tarballs");
  const tarball = run(join(repo, "infra/package-release.sh"), ["--skip-build", "--without-node-modules", "--out", out, "--version", version]).trim();
  const dir = join(work, "unpacked", version);
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-C", dir, "-xzf", tarball]);
  symlinkSync(join(repo, "node_modules"), join(dir, `isle-${version}`, "node_modules"));
  return join(dir, `isle-${version}`);
}

/** Whether the unit is enabled: its link in multi-user.target.wants (pointing at /etc/systemd/system, outside the root). */
function enabled(root: string, unit: string): boolean {
  try {
    return lstatSync(join(root, "etc/systemd/system/multi-user.target.wants", unit)).isSymbolicLink();
  } catch {
    return false;
  }
}

function isleIds(root: string): { uid: number; gid: number } {
  const passwd = readFileSync(join(root, "etc/passwd"), "utf8").split("\n").find((line) => line.startsWith("isle:"));
  const group = readFileSync(join(root, "etc/group"), "utf8").split("\n").find((line) => line.startsWith("isle:"));
  if (!passwd || !group) throw new Error("no isle user or group in the root's passwd and group");
  return { uid: Number(passwd.split(":")[2]), gid: Number(group.split(":")[2]) };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "isle-install-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("install.sh into a throwaway root", () => {
  it("lays out a release, its user, data directories, config, certificates and enabled units", () => {
    const root = join(work, "all");
    const v1 = release("1.0.0-test");
    const out = run(install, ["--root", root, "--from", v1, "--role", "all", "--no-start"]);
    expect(out).toContain("installed release 1.0.0-test");

    expect(readlinkSync(join(root, "opt/isle/current"))).toBe("releases/1.0.0-test");
    expect(readFileSync(join(root, "opt/isle/current/VERSION"), "utf8").trim()).toBe("1.0.0-test");
    for (const app of ["gateway", "sidecar", "agent"]) expect(existsSync(join(root, `opt/isle/current/apps/${app}/dist/main.js`))).toBe(true);
    expect(mode(join(root, "opt/isle/releases/1.0.0-test")) & 0o022).toBe(0);

    const { uid, gid } = isleIds(root);
    expect(statSync(join(root, "var/lib/isle")).uid).toBe(uid);
    expect(mode(join(root, "var/lib/isle"))).toBe(0o750);
    expect(mode(join(root, "var/lib/isle-agent/work"))).toBe(0o700);
    const run_ = statSync(join(root, "var/lib/isle-agent/run"));
    expect([run_.uid, run_.gid, run_.mode & 0o7777]).toEqual([0, gid, 0o2750]);

    for (const part of ["gateway", "sidecar", "agent"]) {
      expect(mode(join(root, `etc/isle/${part}.env`))).toBe(0o600);
      expect(readFileSync(join(root, `opt/isle/current/infra/systemd/isle-${part}.service`), "utf8")).toBe(
        readFileSync(join(root, `etc/systemd/system/isle-${part}.service`), "utf8"),
      );
      expect(readlinkSync(join(root, `etc/systemd/system/multi-user.target.wants/isle-${part}.service`))).toBe(`/etc/systemd/system/isle-${part}.service`);
    }

    // The gateway's CA (in its data directory, owned by it) issued this node's certificates.
    expect(statSync(join(root, "var/lib/isle/pki/ca.key")).uid).toBe(uid);
    expect(mode(join(root, "etc/isle/pki/agent/agent.key"))).toBe(0o600);
    const sidecarKey = statSync(join(root, "etc/isle/pki/sidecar/sidecar.key"));
    expect([sidecarKey.gid, sidecarKey.mode & 0o777]).toEqual([gid, 0o640]);
    expect(readFileSync(join(root, "etc/isle/pki/sidecar/ca.crt"), "utf8")).toBe(readFileSync(join(root, "var/lib/isle/pki/ca.crt"), "utf8"));
    const subject = execFileSync("openssl", ["x509", "-noout", "-ext", "subjectAltName", "-in", join(root, "etc/isle/pki/agent/agent.crt")], { encoding: "utf8" });
    expect(subject).toMatch(/URI:spiffe:\/\/isle\/agent\//);

    // The units as installed pass systemd-analyze (it checks that ExecStart's /usr/bin/node exists).
    const verified = verifyUnits(units.map((unit) => join(root, "etc/systemd/system", unit)));
    expect(verified).toEqual({ status: 0, output: "" });

    // Again: nothing changes, the operator's config and certificates stay.
    const gatewayEnv = join(root, "etc/isle/gateway.env");
    writeFileSync(gatewayEnv, "ISLE_PORT=9090\n");
    const key = readFileSync(join(root, "etc/isle/pki/agent/agent.key"), "utf8");
    const again = run(install, ["--root", root, "--from", v1, "--role", "all", "--no-start"]);
    expect(again).toContain("release 1.0.0-test is already installed");
    expect(again).toContain("keeping /etc/isle/gateway.env");
    expect(readFileSync(gatewayEnv, "utf8")).toBe("ISLE_PORT=9090\n");
    expect(readFileSync(join(root, "etc/isle/pki/agent/agent.key"), "utf8")).toBe(key);
    expect(readFileSync(join(root, "etc/passwd"), "utf8").match(/^isle:/gm)).toHaveLength(1);

    // Upgrade to a new release (from its tarball), then roll back and forward with switch-release.sh.
    const tarball = run(join(repo, "infra/package-release.sh"), ["--skip-build", "--without-node-modules", "--out", join(work, "tarballs"), "--version", "1.1.0-test"]).trim();
    run(install, ["--root", root, "--from", tarball, "--role", "all", "--no-start"]);
    expect(readlinkSync(join(root, "opt/isle/current"))).toBe("releases/1.1.0-test");
    expect(readFileSync(gatewayEnv, "utf8")).toBe("ISLE_PORT=9090\n");
    expect(run(switchRelease, ["--list", "--root", root])).toBe("  1.0.0-test\n* 1.1.0-test\n");
    run(switchRelease, ["1.0.0-test", "--root", root]);
    expect(readlinkSync(join(root, "opt/isle/current"))).toBe("releases/1.0.0-test");
    expect(spawnSync(switchRelease, ["0.9.0", "--root", root]).status).toBe(1);
    expect(lstatSync(join(root, "opt/isle/current")).isSymbolicLink()).toBe(true);
  });

  it("installs only the agent and sidecar on an agent VM, and leaves certificates to the operator", () => {
    const root = join(work, "agent");
    const out = run(install, ["--root", root, "--from", release("2.0.0-test"), "--role", "agent", "--no-start"]);
    expect(out).toContain("no certificates yet");
    expect(existsSync(join(root, "etc/isle/agent.env"))).toBe(true);
    expect(existsSync(join(root, "etc/isle/sidecar.env"))).toBe(true);
    expect(existsSync(join(root, "etc/isle/gateway.env"))).toBe(false);
    expect(enabled(root, "isle-agent.service")).toBe(true);
    expect(enabled(root, "isle-sidecar.service")).toBe(true);
    expect(enabled(root, "isle-gateway.service")).toBe(false);
    expect(existsSync(join(root, "var/lib/isle/pki"))).toBe(false);
  });

  it("refuses an unknown role", () => {
    const result = spawnSync(install, ["--root", join(work, "bad"), "--role", "everything"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--role must be gateway, agent or all");
  });
});
