import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** A socket in the listening state, as the kernel lists it. */
export interface Listener {
  inode: number;
  /** "127.0.0.1", "::1", "0.0.0.0", "::" …; for Unix sockets, the path ("" when unnamed). */
  address: string;
  /** The TCP port; 0 for Unix sockets. */
  port: number;
}

/** Inodes of the sockets among a process's open file descriptors (`socket:[N]` links). */
export function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(Number(match[1]));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * Listening TCP sockets of the network namespace `pid` is in, from
 * /proc/<pid>/net/tcp and tcp6 (proc(5)): state 0A is LISTEN; addresses are
 * hex, each 32-bit word in host (little-endian) byte order.
 */
export function tcpListeners(pid: number): Listener[] {
  const out: Listener[] = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state] = fields.slice(1, 4);
      if (!local || state !== "0A") continue;
      const [hex = "", port = "0"] = local.split(":");
      out.push({ inode: Number(fields[9]), address: ipFromProcHex(hex), port: parseInt(port, 16) });
    }
  }
  return out;
}

/** Listening Unix stream sockets of the namespace `pid` is in (/proc/<pid>/net/unix: flag __SO_ACCEPTCON). */
export function unixListeners(pid: number): Listener[] {
  const out: Listener[] = [];
  for (const line of readFileSync(`/proc/${pid}/net/unix`, "utf8").split("\n").slice(1)) {
    const [, , , flags, , , inode, path = ""] = line.trim().split(/\s+/);
    if (flags === "00010000") out.push({ inode: Number(inode), address: path, port: 0 });
  }
  return out;
}

/** An address of /proc/net/tcp{,6} as text; IPv4-mapped IPv6 addresses as their IPv4 address. */
function ipFromProcHex(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const value = parseInt(hex.slice(word, word + 8), 16);
    bytes.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
  }
  const mapped = bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (bytes.length === 4 || mapped) return bytes.slice(-4).join(".");
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The URL parser writes IPv6 addresses in their canonical short form.
  return new URL(`http://[${groups.join(":")}]`).hostname.slice(1, -1);
}
