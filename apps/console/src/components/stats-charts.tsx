import type { ComponentChildren } from "preact";
import type { FunctionStats, StatsBucket } from "../api.js";
import { errorRate, linePath, niceCeiling, shortCount, yOf } from "../chart.js";

/** The drawing box of each chart, in SVG units; CSS scales the whole to the page's width. */
const width = 640;
const height = 120;
const left = 44;
const bottom = 18;
const plotWidth = width - left - 6;
const plotHeight = height - bottom - 6;
const top = 6;

const clock = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const ms = (v: number | null) => (v === null ? "–" : `${v} ms`);

/** Totals over the window, then requests/errors per bucket and the p50/p95 latency lines. */
export function StatsCharts({ stats }: { stats: FunctionStats }) {
  const { totals, buckets } = stats;
  const hours = Math.round((Date.parse(stats.to) - Date.parse(stats.from)) / 3_600_000);
  return (
    <section data-testid="stats">
      <h2>Last {hours} h</h2>
      <dl class="totals">
        <div>
          <dt>Requests</dt>
          <dd data-testid="stats-requests">{totals.requests}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="stats-errors">
            {totals.errors} ({errorRate(totals.errors, totals.requests)})
          </dd>
        </div>
        <div>
          <dt>p50</dt>
          <dd>{ms(totals.p50Ms)}</dd>
        </div>
        <div>
          <dt>p95</dt>
          <dd>{ms(totals.p95Ms)}</dd>
        </div>
      </dl>
      <div class="charts">
        <RequestsChart buckets={buckets} />
        <LatencyChart buckets={buckets} />
      </div>
    </section>
  );
}

function Frame({ label, max, format, buckets, children }: { label: string; max: number; format: (v: number) => string; buckets: StatsBucket[]; children: ComponentChildren }) {
  const first = buckets[0];
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <text class="axis" x={left - 4} y={top + 4} text-anchor="end">
        {format(max)}
      </text>
      <text class="axis" x={left - 4} y={top + plotHeight} text-anchor="end">
        0
      </text>
      <line class="grid" x1={left} x2={left + plotWidth} y1={top + plotHeight} y2={top + plotHeight} />
      <line class="grid" x1={left} x2={left + plotWidth} y1={top} y2={top} />
      {first ? (
        <text class="axis" x={left} y={height - 4}>
          {clock(first.start)}
        </text>
      ) : null}
      <text class="axis" x={left + plotWidth} y={height - 4} text-anchor="end">
        now
      </text>
      <text class="legend" x={left + plotWidth / 2} y={height - 4} text-anchor="middle">
        {label}
      </text>
      <g transform={`translate(${left} ${top})`}>{children}</g>
    </svg>
  );
}

/** One bar per bucket: its requests, with the failed part drawn over it from the bottom. */
function RequestsChart({ buckets }: { buckets: StatsBucket[] }) {
  const max = niceCeiling(Math.max(0, ...buckets.map((b) => b.requests)));
  const slot = plotWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot - 2);
  return (
    <Frame label="requests · errors" max={max} format={shortCount} buckets={buckets}>
      {buckets.map((b, i) => (
        <g key={b.start} data-requests={b.requests}>
          <title>{`${clock(b.start)}: ${b.requests} requests, ${b.errors} errors`}</title>
          <rect class="hit" x={i * slot} y={0} width={slot} height={plotHeight} />
          <rect class="bar" x={i * slot + 1} y={yOf(b.requests, max, plotHeight)} width={barWidth} height={plotHeight - yOf(b.requests, max, plotHeight)} />
          {b.errors > 0 ? (
            <rect class="bar-errors" x={i * slot + 1} y={yOf(b.errors, max, plotHeight)} width={barWidth} height={plotHeight - yOf(b.errors, max, plotHeight)} />
          ) : null}
        </g>
      ))}
    </Frame>
  );
}

/** p50 and p95 through the buckets' centres; buckets without invocations leave a gap. */
function LatencyChart({ buckets }: { buckets: StatsBucket[] }) {
  const max = niceCeiling(Math.max(0, ...buckets.map((b) => Math.max(b.p95Ms ?? 0, b.p50Ms ?? 0))));
  const slot = plotWidth / Math.max(1, buckets.length);
  const xOf = (i: number) => i * slot + slot / 2;
  const p50 = buckets.map((b) => b.p50Ms);
  const p95 = buckets.map((b) => b.p95Ms);
  return (
    <Frame label="p50 · p95 latency" max={max} format={(v) => `${shortCount(v)} ms`} buckets={buckets}>
      <path class="line-p95" d={linePath(p95, xOf, max, plotHeight)} />
      <path class="line-p50" d={linePath(p50, xOf, max, plotHeight)} />
      {buckets.map((b, i) =>
        b.p50Ms === null ? null : (
          <g key={b.start}>
            <title>{`${clock(b.start)}: p50 ${ms(b.p50Ms)}, p95 ${ms(b.p95Ms)}`}</title>
            <circle class="dot-p95" cx={xOf(i)} cy={yOf(b.p95Ms ?? b.p50Ms, max, plotHeight)} r={2.5} />
            <circle class="dot-p50" cx={xOf(i)} cy={yOf(b.p50Ms, max, plotHeight)} r={2.5} />
          </g>
        ),
      )}
    </Frame>
  );
}
