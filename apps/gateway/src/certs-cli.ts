#!/usr/bin/env node
// isle-certs: issues platform certificates from the CA in a gateway's data directory.
//   isle-certs issue --role sidecar --name node-1 --host 10.0.0.7 [--host node-1.internal] --out DIR [--data-dir DIR]
// writes DIR/ca.crt, DIR/<role>-<name>.crt and DIR/<role>-<name>.key (0600); copy them to the node.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { issueCertificate, loadOrCreateAuthority, type Role } from "@isle/pki";
import { pkiDir } from "./pki/gateway-identity.js";

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: "string", default: "sidecar" },
      name: { type: "string" },
      host: { type: "string", multiple: true, default: [] },
      out: { type: "string" },
      "data-dir": { type: "string", default: process.env.ISLE_DATA_DIR ?? "./.isle" },
      "valid-days": { type: "string", default: "365" },
    },
  });
  if (positionals[0] !== "issue" || !values.name || !values.out) {
    throw new Error("usage: isle-certs issue --role sidecar|gateway --name NAME --host HOST… --out DIR [--data-dir DIR]");
  }
  if (values.role !== "sidecar" && values.role !== "gateway") throw new Error(`--role must be sidecar or gateway, not ${values.role}`);
  const authority = await loadOrCreateAuthority(pkiDir(resolve(values["data-dir"])));
  const issued = await issueCertificate(authority, {
    role: values.role as Role,
    name: values.name,
    hosts: values.host,
    validDays: Number(values["valid-days"]),
  });
  const out = resolve(values.out);
  const base = `${values.role}-${values.name}`;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "ca.crt"), authority.certPem);
  writeFileSync(join(out, `${base}.crt`), issued.certPem);
  writeFileSync(join(out, `${base}.key`), issued.keyPem, { mode: 0o600 });
  process.stdout.write(`${join(out, `${base}.crt`)}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`isle-certs: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
