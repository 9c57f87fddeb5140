import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { admitPeer, createAuthority, identityOf, issueCertificate, loadOrCreateAuthority } from "./index.js";

describe("platform PKI", () => {
  const dir = mkdtempSync(join(tmpdir(), "isle-pki-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("issues certificates that verify against their CA only, naming role, name and hosts", async () => {
    const ca = await createAuthority();
    const other = await createAuthority();
    const issued = await issueCertificate(ca, { role: "sidecar", name: "node-1", hosts: ["127.0.0.1", "node-1.internal"] });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkHost("node-1.internal")).toBe("node-1.internal");
    expect(identityOf(cert)).toEqual({ role: "sidecar", name: "node-1" });
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it("issues agents their identity too, with no address needed (they only call out)", async () => {
    const ca = await createAuthority();
    const issued = await issueCertificate(ca, { role: "agent", name: "node-1", hosts: [] });
    expect(identityOf(new X509Certificate(issued.certPem))).toEqual({ role: "agent", name: "node-1" });
  });

  it("creates the CA once and reads it back, with the key private to its owner", async () => {
    const first = await loadOrCreateAuthority(join(dir, "pki"));
    const again = await loadOrCreateAuthority(join(dir, "pki"));
    expect(again).toEqual(first);
    expect(statSync(join(dir, "pki", "ca.key")).mode & 0o777).toBe(0o600);
  });

  it("gives two processes starting at once the same CA", async () => {
    const [a, b] = await Promise.all([loadOrCreateAuthority(join(dir, "race")), loadOrCreateAuthority(join(dir, "race"))]);
    expect(a.certPem).toBe(b.certPem);
  });

  it("refuses names that are not DNS labels and finds no identity in foreign certificates", async () => {
    const ca = await createAuthority();
    await expect(issueCertificate(ca, { role: "gateway", name: "../x", hosts: [] })).rejects.toThrow(/DNS label/);
    expect(identityOf(new X509Certificate(ca.certPem))).toBeUndefined();
  });

  it("admits a peer only in the role asked for", async () => {
    const ca = await createAuthority();
    const der = async (role: "agent" | "sidecar") =>
      new X509Certificate((await issueCertificate(ca, { role, name: "node-1", hosts: [] })).certPem).raw;
    expect(admitPeer(await der("agent"), "agent")).toMatchObject({ identity: { role: "agent", name: "node-1" } });
    expect(admitPeer(await der("sidecar"), "agent")).toMatchObject({ refused: "PERMISSION_DENIED" });
    expect(admitPeer(new X509Certificate(ca.certPem).raw, "agent")).toMatchObject({ refused: "PERMISSION_DENIED" });
    expect(admitPeer(undefined, "agent")).toMatchObject({ refused: "UNAUTHENTICATED" });
  });
});
