import { describe, expect, it } from "vitest";
import { addressKind, CidrList, embeddedIpv4 } from "./address-ranges.js";

describe("addressKind", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.1", "private"],
    ["fd00::1", "private"],
    ["fc00::1", "private"],
    ["100.64.0.1", "carrier_grade_nat"],
    ["100.127.255.255", "carrier_grade_nat"],
    ["169.254.169.254", "link_local"],
    ["fe80::1", "link_local"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:169.254.169.254", "link_local"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::a9fe:a9fe", "link_local"],
    ["not-an-ip", "reserved"],
  ])("%s is %s", (ip, kind) => {
    expect(addressKind(ip)).toBe(kind);
  });

  it.each(["1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "11.0.0.1"])("%s is public", (ip) => {
    expect(addressKind(ip)).toBe("public");
  });
});

describe("embeddedIpv4", () => {
  it("finds the IPv4 address in mapped, compatible and NAT64 forms only", () => {
    expect(embeddedIpv4("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(embeddedIpv4("0:0:0:0:0:ffff:c000:201")).toBe("192.0.2.1");
    expect(embeddedIpv4("64:ff9b::c000:201")).toBe("192.0.2.1");
    expect(embeddedIpv4("2001:db8::c000:201")).toBeUndefined();
    expect(embeddedIpv4("::")).toBeUndefined();
    expect(embeddedIpv4("127.0.0.1")).toBeUndefined();
  });
});

describe("CidrList", () => {
  it("matches addresses and ranges of both families, mapped IPv6 by its IPv4 address", () => {
    const list = CidrList.parse("10.1.0.0/16, 192.0.2.7 ,fd00:1::/64");
    expect(list.entries).toEqual(["10.1.0.0/16", "192.0.2.7/32", "fd00:1::/64"]);
    expect(list.has("10.1.200.3")).toBe(true);
    expect(list.has("10.2.0.1")).toBe(false);
    expect(list.has("192.0.2.7")).toBe(true);
    expect(list.has("::ffff:192.0.2.7")).toBe(true);
    expect(list.has("[fd00:1::5]")).toBe(true);
    expect(list.has("fd00:2::5")).toBe(false);
    expect(list.has("example.com")).toBe(false);
  });

  it("is empty for an empty setting and names the entry it cannot parse", () => {
    expect(CidrList.parse(undefined).entries).toEqual([]);
    expect(CidrList.parse("").entries).toEqual([]);
    expect(() => CidrList.parse("10.0.0.0/8,10.0.0.0/33")).toThrow('"10.0.0.0/33" is not an IP address or CIDR range');
    expect(() => CidrList.parse("internal.example")).toThrow(/internal\.example/);
  });
});
