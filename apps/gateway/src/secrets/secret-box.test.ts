import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.js";
import { decodeKey, resolveSecretsKey } from "./secrets-key.js";

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));

  it("opens what it sealed, and never stores the value in the clear", () => {
    const sealed = box.seal("hunter2-ü");
    expect(sealed.includes(Buffer.from("hunter2"))).toBe(false);
    expect(box.open(sealed)).toBe("hunter2-ü");
    expect(box.seal("same").equals(box.seal("same"))).toBe(false);
  });

  it("refuses another key's or an altered seal without echoing it", () => {
    const sealed = box.seal("value");
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/does not open/);
    const altered = Buffer.from(sealed);
    altered[altered.length - 20]! ^= 1;
    expect(() => box.open(altered)).toThrow(/does not open/);
    expect(() => box.open(Buffer.from([9, 9]))).toThrow(/known format/);
  });

  it("wants a 32-byte key", () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe("resolveSecretsKey", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("generates a key once into the data directory with mode 0600, then reuses it", () => {
    const dir = mkdtempSync(join(tmpdir(), "isle-key-"));
    dirs.push(dir);
    const first = resolveSecretsKey(undefined, dir);
    expect(first.created).toBe(true);
    expect(statSync(join(dir, "secrets-key")).mode & 0o777).toBe(0o600);
    const again = resolveSecretsKey(undefined, dir);
    expect(again).toEqual({ key: first.key, created: false });
    const configured = randomBytes(32);
    expect(resolveSecretsKey(configured, dir).key).toEqual(configured);
  });

  it("refuses a damaged key file, naming the file and not the value", () => {
    const dir = mkdtempSync(join(tmpdir(), "isle-key-"));
    dirs.push(dir);
    writeFileSync(join(dir, "secrets-key"), "c2hvcnQ=\n");
    expect(() => resolveSecretsKey(undefined, dir)).toThrow(/secrets-key must be the base64 of exactly 32 bytes/);
    expect(readFileSync(join(dir, "secrets-key"), "utf8")).toBe("c2hvcnQ=\n");
    const err = (() => {
      try {
        decodeKey("c2hvcnQ=", "ISLE_SECRETS_KEY");
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(err).toMatch(/^ISLE_SECRETS_KEY must be/);
    expect(err).not.toContain("c2hvcnQ");
  });
});
