// The invoke benchmark's arithmetic and tables: pure functions of the wrk runs,
// so what a printed number means is all here.
import { median } from "./events.mjs";

/** The targets in the order they are printed; `isle` is measured against the others. */
export const targetNames = {
  static: "workerd static",
  loader: "workerd loader",
  deno: "deno",
  chain: "bare chain",
  chainNoRelay: "bare chain, no relay",
  isle: "isle",
};
const references = ["loader", "static", "deno", "chain"];

const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

/**
 * runs: [{ target, connections, rps, p50, p99, non2xx, socketErrorCount }] →
 * { [connections]: { [target]: { rps, p50, p99 (each { median, min, max }), errors, rounds } } }.
 */
export function summarise(runs) {
  const out = {};
  for (const run of runs) ((out[run.connections] ??= {})[run.target] ??= []).push(run);
  for (const byTarget of Object.values(out)) {
    for (const [target, list] of Object.entries(byTarget)) {
      byTarget[target] = {
        rps: spread(list.map((r) => r.rps)),
        p50: spread(list.map((r) => r.p50)),
        p99: spread(list.map((r) => r.p99)),
        errors: list.reduce((n, r) => n + r.non2xx + r.socketErrorCount, 0),
        rounds: list.length,
      };
    }
  }
  return out;
}

/**
 * A target's median req/s over a reference's best round. The best round is
 * the reference's capacity: its worse rounds are mostly the kernel handing
 * all of wrk's connections to one of the processes sharing the socket (at
 * c=32 the loader has measured 7.7 k in one round and 12 k in the next), which
 * would flatter the target.
 */
const ratioOf = (a, b) => (a && b ? a.rps.median / b.rps.max : NaN);

/**
 * Per concurrency: Isle over each reference ({ loader, static, deno, chain }),
 * and the bare chains over the loader (chainToLoader, chainNoRelayToLoader:
 * what the topology alone allows); each a median over a best round (ratioOf).
 */
export function ratios(summary) {
  const out = {};
  for (const [c, s] of Object.entries(summary)) {
    out[c] = Object.fromEntries(references.map((ref) => [ref, ratioOf(s.isle, s[ref])]));
    out[c].chainToLoader = ratioOf(s.chain, s.loader);
    out[c].chainNoRelayToLoader = ratioOf(s.chainNoRelay, s.loader);
  }
  return out;
}

const n = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");
const withSpread = (s, digits) => `${n(s.median, digits)} (${n(s.min, digits)}–${n(s.max, digits)})`;

/** The report's text: a table per concurrency, the ratios, the headline lines, CPU and hops. */
export function report({ settings, summary, ratio, headline, cpuMicrosPerRequest, hops }) {
  const lines = [];
  const pin = settings.wrkCpu === undefined ? "not pinned" : `pinned to CPU ${settings.wrkCpu}`;
  lines.push(
    `\nhello world (examples/hello), wrk -t1 (${pin}); c=1 for ${settings.singleSeconds} s, otherwise ${settings.seconds} s; ` +
      `${settings.rounds} round(s), median (min–max) over rounds`,
    `workerd references: ${settings.workerdProcesses} process(es) each on one shared socket; deno: ${settings.denoParallel ? "deno serve --parallel" : "one process, Deno.serve"}`,
  );
  for (const [c, byTarget] of Object.entries(summary)) {
    lines.push(`\nc=${c}\n`, "| target | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|");
    for (const [key, label] of Object.entries(targetNames)) {
      const s = byTarget[key];
      if (s) lines.push(`| ${label} | ${withSpread(s.rps, 0)} | ${withSpread(s.p50)} | ${withSpread(s.p99)} | ${s.errors} |`);
    }
  }
  const cs = Object.keys(ratio);
  lines.push(`\nIsle req/s (median) ÷ reference req/s (best round)\n`, `| reference | ${cs.map((c) => `c=${c}`).join(" | ")} |`, `|---|${cs.map(() => "---|").join("")}`);
  for (const ref of references) lines.push(`| ${targetNames[ref]} | ${cs.map((c) => n(ratio[c][ref], 3)).join(" | ")} |`);
  lines.push(
    `| (bare chain ÷ workerd loader) | ${cs.map((c) => n(ratio[c].chainToLoader, 3)).join(" | ")} |`,
    `| (bare chain, no relay ÷ workerd loader) | ${cs.map((c) => n(ratio[c].chainNoRelayToLoader, 3)).join(" | ")} |`,
  );
  lines.push(
    "",
    `ratio to workerd loader: ${n(headline.loader)}`,
    `ratio to workerd static: ${n(headline.static)}`,
    `ratio to deno: ${n(headline.deno)}`,
    `ratio to the bare chain: ${n(headline.chain)} (the bare chain's own ratio to workerd loader: ${n(headline.chainToLoader)}; without the relay: ${n(headline.chainNoRelayToLoader)})`,
    `added p50 at c=1 over the loader floor: ${n(headline.addedP50Ms)} ms`,
  );
  for (const [target, perProcess] of Object.entries(cpuMicrosPerRequest ?? {})) {
    const parts = Object.entries(perProcess).map(([k, v]) => `${k} ${v}`);
    const total = Object.values(perProcess).reduce((a, b) => a + b, 0);
    lines.push(`CPU µs per request of each ${targetNames[target]} process at c=32 (median over rounds): ${parts.join(", ")} (total ${total})`);
  }
  if (hops) {
    const rows = [
      ["client as measured", hops.client],
      ["outside the gateway's span (client, kernel, node-server, middleware)", hops.outside],
      ["gateway (its span − the sidecar's)", hops.gateway],
      ["sidecar (its span − the agent's)", hops.sidecar],
      ["agent (its span − the isolate call's)", hops.agent],
      ["isolate call (agent → workerd → isolate → body back)", hops.isolate],
    ];
    lines.push(
      `\nadded latency per hop, c=1 with tracing on (${hops.joined} of ${hops.invocations} invocations with all four spans), ms`,
      "| hop | p50 | p90 |",
      "|---|---|---|",
      ...rows.map(([label, s]) => `| ${label} | ${n(s.p50)} | ${n(s.p90)} |`),
      `isolate call p50 over the loader floor's p50 at c=1: ${n(headline.isolateCallOverLoaderMs)} ms ` +
        "(the agent's HTTP client and answer streaming, Isle's supervisor's own work; rough)",
    );
  }
  return `${lines.join("\n")}\n`;
}
