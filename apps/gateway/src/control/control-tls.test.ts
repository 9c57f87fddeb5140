import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { controlHosts } from "./control-tls.js";

const nic = (address: string, family: "IPv4" | "IPv6" = "IPv4") => ({ address, family }) as NetworkInterfaceInfo;
const machine = { hostname: "GW-1", interfaces: { lo: [nic("127.0.0.1"), nic("::1", "IPv6")], eth0: [nic("10.0.0.5"), nic("fe80::1", "IPv6")] } };

describe("controlHosts: the names in the control plane's certificate", () => {
  it("names the host the listener is bound to, and what the operator adds", () => {
    expect(controlHosts("127.0.0.1", [], machine)).toEqual(["127.0.0.1"]);
    expect(controlHosts("10.0.0.5", ["control.internal", "10.0.0.5"], machine)).toEqual(["10.0.0.5", "control.internal"]);
  });

  it("names the machine and every address agents can dial when it listens on all interfaces", () => {
    expect(controlHosts("0.0.0.0", ["control.internal"], machine)).toEqual([
      "gw-1",
      "localhost",
      "127.0.0.1",
      "::1",
      "10.0.0.5",
      "control.internal",
    ]);
  });
});
