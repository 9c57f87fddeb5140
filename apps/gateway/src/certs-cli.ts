#!/usr/bin/env node
// isle-certs: issues platform certificates from the CA in a gateway's data directory.
//   isle-certs issue --role sidecar --name node-1 --host 10.0.0.7 [--host node-1.internal] --out DIR [--data-dir DIR]
//   isle-certs issue --role agent --name node-1 --out DIR      (the name is the agent's ISLE_AGENT_ID)
// writes DIR/ca.crt, DIR/<role>-<name>.crt and DIR/<role>-<name>.key (0600); copy them to the node.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { issueCertificate, loadOrCreateAuthority, roles, type Role } from "@isle/pki";
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
    throw new Error(`usage: isle-certs issue --role ${roles.join("|")} --name NAME [--host HOST…] --out DIR [--data-dir DIR]`);
  }
  if (!isRole(values.role)) throw new Error(`--role must be one of ${roles.join(", ")}, not ${values.role}`);
  const authority = await loadOrCreateAuthority(pkiDir(resolve(values["data-dir"])));
  const issued = await issueCertificate(authority, {
    role: values.role,
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

function isRole(text: string): text is Role {
  return (roles as readonly string[]).includes(text);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`isle-certs: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
