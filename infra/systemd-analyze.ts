import { spawnSync } from "node:child_process";

/** `systemd-analyze verify` on unit files: its exit status and whatever it printed, warnings included. */
export function verifyUnits(paths: string[]): { status: number | null; output: string } {
  const result = spawnSync("systemd-analyze", ["verify", ...paths], { encoding: "utf8" });
  if (result.error) throw new Error(`systemd-analyze is needed (Debian package systemd): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}
