import { BlockList, isIP } from "node:net";

/** Why an address is not on the public internet; "public" when it is. */
export type AddressKind =
  | "public"
  | "loopback"
  | "private"
  | "link_local"
  | "carrier_grade_nat"
  | "unspecified"
  | "multicast"
  | "reserved";

/**
 * Ranges a function (or a callback URL) may never reach unless the operator allowlists them. The
 * order matters only for the name reported. Sources: RFC 1122 (0/8, 127/8),
 * RFC 1918, RFC 6598 (100.64/10), RFC 3927 (169.254/16, which holds the cloud
 * metadata address 169.254.169.254), RFC 5737/6890 special-purpose blocks,
 * RFC 4291 (::, ::1, fe80::/10, ff00::/8) and RFC 4193 (fc00::/7, of which
 * fd00::/8 is the part in use).
 */
const ranges: Array<[AddressKind, string, number, "ipv4" | "ipv6"]> = [
  ["unspecified", "0.0.0.0", 8, "ipv4"],
  ["loopback", "127.0.0.0", 8, "ipv4"],
  ["private", "10.0.0.0", 8, "ipv4"],
  ["private", "172.16.0.0", 12, "ipv4"],
  ["private", "192.168.0.0", 16, "ipv4"],
  ["carrier_grade_nat", "100.64.0.0", 10, "ipv4"],
  ["link_local", "169.254.0.0", 16, "ipv4"],
  // IETF protocol assignments, benchmarking, documentation: never a real destination.
  ["reserved", "192.0.0.0", 24, "ipv4"],
  ["reserved", "192.0.2.0", 24, "ipv4"],
  ["reserved", "198.18.0.0", 15, "ipv4"],
  ["reserved", "198.51.100.0", 24, "ipv4"],
  ["reserved", "203.0.113.0", 24, "ipv4"],
  ["multicast", "224.0.0.0", 4, "ipv4"],
  ["reserved", "240.0.0.0", 4, "ipv4"],
  ["unspecified", "::", 128, "ipv6"],
  ["loopback", "::1", 128, "ipv6"],
  ["private", "fc00::", 7, "ipv6"],
  ["link_local", "fe80::", 10, "ipv6"],
  ["multicast", "ff00::", 8, "ipv6"],
  ["reserved", "2001:db8::", 32, "ipv6"],
  ["reserved", "100::", 64, "ipv6"],
];

const lists = new Map<AddressKind, BlockList>();
for (const [kind, network, prefix, family] of ranges) {
  let list = lists.get(kind);
  if (!list) lists.set(kind, (list = new BlockList()));
  list.addSubnet(network, prefix, family);
}

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one in a way a
 * connect() would honour: IPv4-mapped (::ffff:a.b.c.d), the deprecated
 * IPv4-compatible form (::a.b.c.d) and the NAT64 well-known prefix
 * (64:ff9b::/96). Without this, [::ffff:127.0.0.1] would pass as "IPv6".
 */
export function embeddedIpv4(ipv6: string): string | undefined {
  const words = expandIpv6(ipv6);
  if (!words) return undefined;
  const high = words.slice(0, 6);
  const isZero = (w: number) => w === 0;
  const mapped = high.slice(0, 5).every(isZero) && high[5] === 0xffff;
  const compatible = high.every(isZero) && (words[6] ?? 0) !== 0;
  const nat64 = high[0] === 0x64 && high[1] === 0xff9b && high.slice(2).every(isZero);
  if (!mapped && !compatible && !nat64) return undefined;
  const a = words[6] ?? 0;
  const b = words[7] ?? 0;
  return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
}

/** The eight 16-bit words of an IPv6 address (dotted tail allowed), or undefined if it is not one. */
function expandIpv6(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.split("%")[0] ?? address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split(".").map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((w) => parseInt(w, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  return [...left, ...new Array<number>(Math.max(fill, 0)).fill(0), ...right];
}

/** Strips the brackets a URL puts around an IPv6 host. */
export function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * What kind of address `ip` is. IPv6 addresses that embed an IPv4 address are
 * judged by that address. Anything that is not an IP literal is "reserved".
 */
export function addressKind(ip: string): AddressKind {
  const address = unbracket(ip);
  const family = isIP(address);
  if (family === 0) return "reserved";
  const inner = family === 6 ? embeddedIpv4(address) : undefined;
  const [value, type] = inner ? [inner, "ipv4" as const] : [address, family === 4 ? ("ipv4" as const) : ("ipv6" as const)];
  for (const [kind, list] of lists) if (list.check(value, type)) return kind;
  return "public";
}

/**
 * A list of addresses and CIDR ranges (operator configuration such as
 * `10.1.0.0/16,192.168.5.7,fd00:1::/64`). Parsing throws with the offending
 * entry so a typo fails the process's start, not a tenant's request.
 */
export class CidrList {
  readonly entries: readonly string[];
  private readonly list = new BlockList();

  constructor(entries: readonly string[]) {
    const normalised: string[] = [];
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry === "") continue;
      const [network = "", prefixText] = entry.split("/");
      const family = isIP(network);
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
        throw new Error(`"${entry}" is not an IP address or CIDR range`);
      }
      this.list.addSubnet(network, prefix, family === 4 ? "ipv4" : "ipv6");
      normalised.push(`${network}/${prefix}`);
    }
    this.entries = normalised;
  }

  static parse(text: string | undefined): CidrList {
    return new CidrList((text ?? "").split(","));
  }

  has(ip: string): boolean {
    const address = unbracket(ip);
    const family = isIP(address);
    if (family === 0) return false;
    const inner = family === 6 ? embeddedIpv4(address) : undefined;
    if (inner && this.list.check(inner, "ipv4")) return true;
    return this.list.check(address, family === 4 ? "ipv4" : "ipv6");
  }
}
