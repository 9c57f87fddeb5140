// Runs wrk against a URL and parses requests/s and latency percentiles.
import { execFileSync } from "node:child_process";

/** Installs wrk from Debian when it is missing (the benchmark's only system dependency). */
export function ensureWrk() {
  const present = () => {
    try {
      execFileSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (present()) return;
  execFileSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk"], { stdio: "inherit" });
}

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

/**
 * One wrk run: { rps, p50, p99, non2xx, socketErrors, socketErrorCount } with latencies in ms.
 * `cpu`, when given, pins wrk to that CPU list (`taskset -c`), so the load generator stays on one
 * core instead of migrating among the ones the measured processes run on.
 */
export function runWrk(url, { connections = 32, seconds = 10, threads = 1, cpu } = {}) {
  const wrk = ["wrk", `-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", url];
  const [command, ...args] = cpu === undefined ? wrk : ["taskset", "-c", String(cpu), ...wrk];
  return parseWrk(execFileSync(command, args, { encoding: "utf8" }));
}

/** wrk's `--latency` output read: { rps, p50, p99, non2xx, socketErrors, socketErrorCount } with latencies in ms. */
export function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? "");
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1] ?? "";
  // "connect 0, read 0, write 0, timeout 12": the sum.
  const socketErrorCount = [...socketErrors.matchAll(/\d+/g)].reduce((n, [d]) => n + Number(d), 0);
  return { rps, p50, p99, non2xx, socketErrors, socketErrorCount };
}
