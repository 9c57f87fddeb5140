/**
 * The geometry of the console's small charts, as plain numbers (no DOM), so it can be tested.
 * Values map to a box `height` tall with y growing downwards, as in SVG.
 */

/** The smallest of 1, 2 or 5 × 10^k that is at least `value` (1 for nothing), for an axis top. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Where a value lands on a vertical axis from 0 (bottom) to `top`. */
export function yOf(value: number, top: number, height: number): number {
  return height - (Math.min(value, top) / top) * height;
}

/**
 * An SVG path through the points that have a value: a gap (null) lifts the pen, so a bucket
 * with no invocations does not read as a latency of zero.
 */
export function linePath(values: ReadonlyArray<number | null>, xOf: (i: number) => number, top: number, height: number): string {
  const parts: string[] = [];
  let penDown = false;
  values.forEach((value, i) => {
    if (value === null) {
      penDown = false;
      return;
    }
    parts.push(`${penDown ? "L" : "M"}${round(xOf(i))} ${round(yOf(value, top, height))}`);
    penDown = true;
  });
  return parts.join(" ");
}

/** A count with its unit, short: 950, 1.2k, 3.4M. */
export function shortCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${trim(n / 1000)}k`;
  return `${trim(n / 1_000_000)}M`;
}

/** errors / requests as a percentage, or "–" when there were no requests. */
export function errorRate(errors: number, requests: number): string {
  if (requests === 0) return "–";
  const pct = (errors / requests) * 100;
  return `${pct === 0 || pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

const round = (n: number) => Math.round(n * 10) / 10;
const trim = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1).replace(/\.0$/, ""));
