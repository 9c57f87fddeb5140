import { gzipSync } from "node:zlib";

/** One file of an upload: its path relative to the function's directory, with '/' separators. */
export interface UploadFile {
  path: string;
  content: Uint8Array;
}

const block = 512;

/**
 * A gzip-compressed tar (POSIX ustar, pax `path` records for long names) of regular files, as
 * `POST …/deployments` takes it. Deterministic — mode 0644, owner 0, mtime 0, files in the given
 * order — so the same directory always makes the same bytes.
 */
export function tarGz(files: UploadFile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const file of files) {
    const name = Buffer.from(file.path, "utf8");
    if (name.length > 100) {
      const record = paxRecord("path", file.path);
      parts.push(header("././@PaxHeader", record.length, "x"), padded(record));
    }
    parts.push(header(name.length > 100 ? file.path.slice(0, 99) : file.path, file.content.byteLength, "0"), padded(file.content));
  }
  parts.push(new Uint8Array(block * 2));
  return gzipSync(Buffer.concat(parts));
}

function header(name: string, size: number, type: string): Uint8Array {
  const h = Buffer.alloc(block);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100, "ascii");
  h.write("0000000\0", 108, "ascii");
  h.write("0000000\0", 116, "ascii");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "ascii");
  h.write("00000000000\0", 136, "ascii");
  h.write(" ".repeat(8), 148, "ascii");
  h.write(type, 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** `"<length> <key>=<value>\n"`, where the length counts its own digits too. */
function paxRecord(key: string, value: string): Uint8Array {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length) length = bodyLength + String(length).length;
  return Buffer.from(`${length}${body}`, "utf8");
}

function padded(content: Uint8Array): Uint8Array {
  const rest = content.byteLength % block;
  return rest === 0 ? content : Buffer.concat([content, new Uint8Array(block - rest)]);
}
