import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";

const script = join(import.meta.dirname, "build-from-oci.sh");
const root = mkdtempSync(join(tmpdir(), "isle-oci-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let count = 0;

type Tree = Record<string, string | { link: string } | { mode: number; text: string }>;

/** A layer tar made by GNU tar from a directory holding `tree` (only `members` when given). */
function layerTar(tree: Tree, members = ["."]): Buffer {
  const dir = join(root, `layer-${++count}`);
  for (const [path, content] of Object.entries(tree)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    if (typeof content === "string") writeFileSync(file, content);
    else if ("link" in content) symlinkSync(content.link, file);
    else writeFileSync(file, content.text, { mode: content.mode });
  }
  return execFileSync("tar", ["-C", dir, "-cf", "-", ...members], { maxBuffer: 64 * 1024 * 1024 });
}

/** An OCI image layout tarball with these layers, bottom first; returns its path. */
function imageTar(layers: Array<{ tar: Buffer; gzip?: boolean; corrupt?: boolean }>): string {
  const dir = join(root, `image-${++count}`);
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const blob = (data: Buffer) => {
    const hex = createHash("sha256").update(data).digest("hex");
    writeFileSync(join(dir, "blobs", "sha256", hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const descriptors = layers.map(({ tar, gzip, corrupt }) => {
    const data = gzip ? gzipSync(tar) : tar;
    const descriptor = blob(data);
    if (corrupt) writeFileSync(join(dir, "blobs", "sha256", descriptor.digest.slice(7)), Buffer.concat([data, Buffer.from("x")]));
    return { mediaType: `application/vnd.oci.image.layer.v1.tar${gzip ? "+gzip" : ""}`, ...descriptor };
  });
  const config = blob(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })));
  const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: descriptors })));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest }] }));
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const file = `${dir}.tar`;
  execFileSync("tar", ["-C", dir, "-cf", file, "."]);
  return file;
}

function build(image: string) {
  const out = join(root, `out-${++count}`);
  const ran = spawnSync(script, [image, out], { encoding: "utf8" });
  return { out, status: ran.status, stderr: ran.stderr };
}

describe("build-from-oci.sh", () => {
  it("applies the layers in order, honouring file and opaque whiteouts, links and modes", () => {
    const base = layerTar({
      "etc/hostname": "one",
      "etc/gone": "x",
      "data/old/a": "a",
      "usr/bin/tool": { mode: 0o755, text: "#!/bin/sh\n" },
      "bin": { link: "usr/bin" },
      "big/file": "y".repeat(3 * 1024 * 1024 + 7),
    });
    const top = layerTar({ "etc/.wh.gone": "", "data/.wh..wh..opq": "", "data/new": "n", "etc/hostname": "two" });
    const built = build(imageTar([{ tar: base, gzip: true }, { tar: top }]));
    expect(built.status, built.stderr).toBe(0);
    const at = (path: string) => join(built.out, path);
    expect(readFileSync(at("etc/hostname"), "utf8")).toBe("two");
    expect(existsSync(at("etc/gone"))).toBe(false);
    expect(existsSync(at("data/old"))).toBe(false);
    expect(readFileSync(at("data/new"), "utf8")).toBe("n");
    expect(existsSync(at("etc/.wh.gone")) || existsSync(at("data/.wh..wh..opq"))).toBe(false);
    expect(lstatSync(at("usr/bin/tool")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(at("bin"))).toBe("usr/bin");
    expect(readFileSync(at("big/file")).length).toBe(3 * 1024 * 1024 + 7);
  });

  it("refuses an entry that goes through a lower layer's symbolic link, writing nothing outside", () => {
    const outside = join(root, "outside");
    mkdirSync(outside);
    const link = { tar: layerTar({ etc: { link: outside } }) };
    const built = build(imageTar([link, { tar: layerTar({ "etc/passwd": "pwned" }, ["etc/passwd"]) }]));
    expect(built.status).toBe(1);
    expect(built.stderr).toContain('entry "etc/passwd" goes through the symbolic link /etc');
    expect(existsSync(join(outside, "passwd"))).toBe(false);
    // With its own directory entry first, the upper layer's directory replaces the link, as in overlayfs.
    const replaced = build(imageTar([link, { tar: layerTar({ "etc/passwd": "mine" }) }]));
    expect(replaced.status, replaced.stderr).toBe(0);
    expect(lstatSync(join(replaced.out, "etc")).isDirectory()).toBe(true);
    expect(readFileSync(join(replaced.out, "etc/passwd"), "utf8")).toBe("mine");
    expect(existsSync(join(outside, "passwd"))).toBe(false);
  });

  it("refuses a layer whose blob does not match its digest", () => {
    const built = build(imageTar([{ tar: layerTar({ a: "a" }), corrupt: true }]));
    expect(built.status).toBe(1);
    expect(built.stderr).toMatch(/layer sha256:[0-9a-f]{64} does not match its digest/);
  });
});
