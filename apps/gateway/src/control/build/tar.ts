import { gunzipSync } from "node:zlib";
import { IsleError } from "@isle/errors";
import type { SourceFile } from "./source-files.js";

export interface TarLimits {
  /** Most bytes the archive may unpack to. */
  maxUnpackedBytes: number;
  maxFiles: number;
}

const block = 512;

/**
 * Reads a gzip-compressed tar of a function's directory into memory, never
 * touching the disk. Regular files and directories only: links, devices and
 * anything else are refused, and so are absolute paths and `..` (checked
 * again by normalizeSourcePaths before the build). A leading `./` or a single
 * top directory common to every entry is kept as given; the caller names the
 * entry relative to the archive root.
 */
export function extractTarGz(archive: Uint8Array, limits: TarLimits): SourceFile[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: limits.maxUnpackedBytes + 64 * block });
  } catch (err) {
    const tooBig = (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
    throw tooBig
      ? new IsleError("payload_too_large", `the archive unpacks to more than ${limits.maxUnpackedBytes} bytes`)
      : new IsleError("bad_request", "the body is not a gzip-compressed tar archive");
  }
  const files: SourceFile[] = [];
  let longName: string | undefined;
  let paxPath: string | undefined;
  for (let offset = 0; offset + block <= tar.length; ) {
    const header = tar.subarray(offset, offset + block);
    if (header.every((b) => b === 0)) break; // end of archive
    if (!checksumOk(header)) throw new IsleError("bad_request", "the tar archive is corrupt (bad header checksum)");
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 48); // NUL means a regular file
    const dataStart = offset + block;
    const data = tar.subarray(dataStart, dataStart + size);
    if (data.length !== size) throw new IsleError("bad_request", "the tar archive is truncated");
    offset = dataStart + Math.ceil(size / block) * block;

    if (type === "L") {
      longName = cString(data);
      continue;
    }
    if (type === "x") {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"))?.[1];
      continue;
    }
    if (type === "g") continue; // global pax header: nothing we use
    const prefix = cString(header.subarray(345, 500));
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    longName = undefined;
    paxPath = undefined;
    if (type === "5") continue; // directory: implied by its files
    if (type !== "0" && type !== "7") {
      throw new IsleError("validation_failed", `the archive entry ${JSON.stringify(name)} is not a regular file (links are refused)`);
    }
    if (files.length >= limits.maxFiles) throw new IsleError("validation_failed", `a deployment has at most ${limits.maxFiles} files`);
    files.push({ path: name, content: Buffer.from(data), mode: parseOctal(header.subarray(100, 108)) & 0o777 });
  }
  return files;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString("utf8");
}

function parseOctal(bytes: Uint8Array): number {
  const text = cString(bytes).trim();
  if (!/^[0-7]*$/.test(text)) throw new IsleError("bad_request", "the tar archive is corrupt (bad size field)");
  return text === "" ? 0 : parseInt(text, 8);
}

/** The header checksum: the sum of its bytes with the checksum field read as spaces. */
function checksumOk(header: Uint8Array): boolean {
  const stored = parseOctal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === stored;
}
