#!/usr/bin/env node
// Builds a root filesystem directory from an OCI image layout tarball (`docker save` of a recent
// Docker, `skopeo copy ... oci-archive:image.tar`, `podman save --format oci-archive`):
//
//   node infra/rootfs/build-from-oci.mjs <image.tar> <outdir>
//
// index.json -> (an image index is followed to its linux/<this arch> manifest) -> manifest -> the
// layers in order, each blob checked against its sha256 digest. A layer's whiteouts apply to the
// layers below it: `.wh.<name>` removes <name>, `.wh..wh..opq` empties its directory; both are
// applied before the layer's own files are written. No entry may leave <outdir>: absolute paths
// are taken relative to it, `..` is refused, and so is an entry that goes through a symbolic link
// (a lower layer's `etc -> /` must not let a later `etc/passwd` write the host's).
// Layers may be tar, tar+gzip, or tar+zstd (with the zstd command installed).
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { createGunzip } from "node:zlib";

const [image, outArg] = process.argv.slice(2);
if (!image || !outArg) {
  console.error("usage: build-from-oci.mjs <image.tar> <outdir>");
  process.exit(2);
}
const fail = (message) => {
  console.error(`build-from-oci: ${message}`);
  process.exit(1);
};

const started = Date.now();
if (fs.existsSync(outArg) && fs.readdirSync(outArg).length > 0) fail(`${outArg} exists and is not empty`);
fs.mkdirSync(outArg, { recursive: true });
const out = fs.realpathSync(outArg);
const layout = mkdtempSync(join(tmpdir(), "isle-oci-"));
try {
  // The layout itself holds only index.json, oci-layout and blobs/sha256/<hex>: GNU tar unpacks it
  // into a fresh directory, and nothing is read from it but by digest.
  execFileSync("tar", ["-xf", image, "-C", layout, "--no-same-owner"], { stdio: "inherit" });
  const blobPath = (digest) => {
    const match = /^sha256:([0-9a-f]{64})$/.exec(digest ?? "");
    if (!match) fail(`unsupported digest ${JSON.stringify(digest)}`);
    return join(layout, "blobs", "sha256", match[1]);
  };
  const readJson = (digest) => {
    const data = fs.readFileSync(blobPath(digest));
    if (createHash("sha256").update(data).digest("hex") !== digest.slice(7)) fail(`blob ${digest} does not match its digest`);
    return JSON.parse(data.toString("utf8"));
  };
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch] ?? process.arch;
  let descriptor = JSON.parse(fs.readFileSync(join(layout, "index.json"), "utf8")).manifests?.[0];
  let manifest;
  for (let depth = 0; !manifest; depth++) {
    if (!descriptor || depth > 3) fail("no image manifest in index.json");
    const document = readJson(descriptor.digest);
    if (Array.isArray(document.manifests)) {
      descriptor = document.manifests.find((m) => !m.platform || (m.platform.os === "linux" && m.platform.architecture === arch));
    } else manifest = document;
  }
  for (const layer of manifest.layers ?? []) {
    const file = blobPath(layer.digest);
    await checkDigest(file, layer.digest);
    const type = layer.mediaType ?? "";
    const kind = type.endsWith("+gzip") || type.endsWith(".gzip") ? "gzip" : type.endsWith("+zstd") || type.endsWith(".zstd") ? "zstd" : "tar";
    await readTar(file, kind, (entry) => whiteout(entry)); // pass 1: the layer's whiteouts
    await readTar(file, kind, (entry, body) => write(entry, body)); // pass 2: its files
  }
  const size = execFileSync("du", ["-sh", out], { encoding: "utf8" }).split("\t")[0];
  console.error(`built ${out} from ${manifest.layers?.length ?? 0} layers: ${size}, ${Date.now() - started} ms`);
} finally {
  fs.rmSync(layout, { recursive: true, force: true });
}

async function checkDigest(file, digest) {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
  if (`sha256:${hash.digest("hex")}` !== digest) fail(`layer ${digest} does not match its digest`);
}

/** `name` made relative to the root, or a failure when it would climb out. */
function clean(name) {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) fail(`entry ${JSON.stringify(name)} climbs out of the root filesystem`);
  return parts;
}

/** The host path of `parts`, after checking that no directory on the way is a symbolic link. */
function inside(parts, name) {
  let path = out;
  for (const part of parts.slice(0, -1)) {
    path = join(path, part);
    const stat = fs.lstatSync(path, { throwIfNoEntry: false });
    if (stat?.isSymbolicLink()) fail(`entry ${JSON.stringify(name)} goes through the symbolic link /${posix.relative(out, path)}`);
    if (!stat) fs.mkdirSync(path, { mode: 0o755 });
  }
  return join(path, parts.at(-1) ?? "");
}

function whiteout({ name }) {
  const parts = clean(name);
  const last = parts.at(-1) ?? "";
  if (!last.startsWith(".wh.")) return;
  if (last === ".wh..wh..opq") {
    const dir = inside([...parts.slice(0, -1), "x"], name).slice(0, -2);
    if (fs.existsSync(dir)) for (const child of fs.readdirSync(dir)) fs.rmSync(join(dir, child), { recursive: true, force: true });
  } else {
    fs.rmSync(inside([...parts.slice(0, -1), last.slice(4)], name), { recursive: true, force: true });
  }
}

function write(entry, body) {
  const parts = clean(entry.name);
  if (parts.length === 0 || (parts.at(-1) ?? "").startsWith(".wh.")) return;
  const path = inside(parts, entry.name);
  const existing = fs.lstatSync(path, { throwIfNoEntry: false });
  if (existing && !(existing.isDirectory() && entry.type === "5")) fs.rmSync(path, { recursive: true, force: true });
  const mode = entry.mode & 0o7777;
  switch (entry.type) {
    case "5":
      fs.mkdirSync(path, { recursive: true });
      fs.chmodSync(path, mode);
      break;
    case "2":
      fs.symlinkSync(entry.linkname, path);
      break;
    case "1": {
      const target = clean(entry.linkname);
      fs.linkSync(inside(target, entry.linkname), path);
      return;
    }
    case "0":
    case "7":
      fs.writeFileSync(path, body, { mode });
      fs.chmodSync(path, mode); // past the umask
      break;
    default:
      return; // devices and fifos: the runtime provides /dev
  }
  if (process.getuid?.() === 0) fs.lchownSync(path, entry.uid, entry.gid);
}

/** Calls `onEntry` for each entry of a (compressed) tar; a file's body is a Buffer. */
async function readTar(file, kind, onEntry) {
  let stream = fs.createReadStream(file);
  if (kind === "gzip") stream = stream.pipe(createGunzip());
  if (kind === "zstd") {
    const zstd = spawn("zstd", ["-dc", file], { stdio: ["ignore", "pipe", "inherit"] });
    zstd.on("error", () => fail("a zstd layer needs the zstd command (apt-get install zstd)"));
    stream = zstd.stdout;
  }
  // Chunks are joined only once a whole header or a whole entry is in: a large file is copied once.
  let chunks = [];
  let length = 0;
  let need = 512;
  let pax = {};
  let longName;
  let longLink;
  for await (const chunk of stream) {
    chunks.push(chunk);
    length += chunk.length;
    while (length >= need) {
      const buffer = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const header = buffer.subarray(0, 512);
      if (header.every((b) => b === 0)) return;
      const size = parseOctal(header.subarray(124, 136));
      const total = 512 + Math.ceil(size / 512) * 512;
      if (buffer.length < total) {
        chunks = [buffer];
        need = total;
        break;
      }
      const body = buffer.subarray(512, 512 + size);
      const type = String.fromCharCode(header[156] || 48);
      chunks = [buffer.subarray(total)];
      length = buffer.length - total;
      need = 512;
      if (type === "x") pax = parsePax(body);
      else if (type === "g") continue;
      else if (type === "L") longName = text(body);
      else if (type === "K") longLink = text(body);
      else {
        const prefix = text(header.subarray(345, 500));
        const name = pax.path ?? longName ?? (prefix ? `${prefix}/${text(header.subarray(0, 100))}` : text(header.subarray(0, 100)));
        const linkname = pax.linkpath ?? longLink ?? text(header.subarray(157, 257));
        const uid = Number(pax.uid ?? parseOctal(header.subarray(108, 116)));
        const gid = Number(pax.gid ?? parseOctal(header.subarray(116, 124)));
        onEntry({ name, type, linkname, mode: parseOctal(header.subarray(100, 108)), uid, gid }, body);
        pax = {};
        longName = longLink = undefined;
      }
    }
  }
  if (length > 0) fail(`${file}: the tar stream ends inside an entry`);
}

function text(bytes) {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString("utf8");
}

function parseOctal(bytes) {
  if (bytes[0] & 0x80) return bytes.subarray(1).reduce((n, b) => n * 256 + b, 0); // base-256
  return parseInt(text(bytes).trim() || "0", 8);
}

function parsePax(body) {
  const records = {};
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(32, at);
    const length = parseInt(body.subarray(at, space).toString(), 10);
    if (!(length > 0)) break;
    const record = body.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    records[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return records;
}
