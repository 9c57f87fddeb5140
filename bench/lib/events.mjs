// Reads a closed-loop load's records ({ start, end, status }, ms) around an
// event: pure functions, so the definitions below are the whole story.

/** The p-th percentile (0–100) of numbers, nearest rank. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (values) => percentile(values, 50);

/**
 * Longest stretch in [from, to] in which no request completed: the window's
 * edges count as completions, so a load that stops answering at the end shows.
 */
export function longestCompletionGap(records, from, to) {
  const ends = records.map((r) => r.end).filter((t) => t > from && t < to);
  const points = [from, ...ends.sort((a, b) => a - b), to];
  let gap = 0;
  for (let i = 1; i < points.length; i++) gap = Math.max(gap, points[i] - points[i - 1]);
  return gap;
}

/** Latency and success of the requests that started and ended within [from, to]. */
export function calmStats(records, from, to) {
  const inside = records.filter((r) => r.start >= from && r.end <= to);
  const latencies = inside.map((r) => r.end - r.start);
  return {
    requests: inside.length,
    perSecond: (inside.length * 1000) / (to - from),
    successRate: inside.filter((r) => r.status === 200).length / inside.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    max: Math.max(...latencies),
    longestGap: longestCompletionGap(inside, from, to),
  };
}

/**
 * The neighbour's view of one runaway event. t0: the runaway was sent;
 * answeredAt: its answer came, which is when the agent killed the stalled
 * process; the event is read until `settleMs` after that.
 *
 * - caught: requests in flight at some moment before the answer that took
 *   longer than `slowMs` — the ones the stall held up or slowed;
 * - stuck: requests that took longer than `stuckMs` (the runaway's own
 *   timeout): held by the stalled process itself, not merely slowed;
 * - servedAgainMs: from t0 until the last caught or failed request was
 *   answered; after it every caller is back to normal service (0 when none
 *   was caught or failed);
 * - stallPerSecond: neighbour answers per second between t0 and the answer;
 * - longestAfterMs: the slowest request started after the answer (the
 *   restarted process, its isolate loaded again).
 */
export function eventStats(records, { t0, answeredAt }, { slowMs, stuckMs, settleMs }) {
  const to = answeredAt + settleMs;
  const overlapping = records.filter((r) => r.end > t0 && r.start < to);
  const caught = overlapping.filter((r) => r.start < answeredAt && r.end - r.start > slowMs);
  const failed = overlapping.filter((r) => r.status !== 200);
  const after = overlapping.filter((r) => r.start >= answeredAt);
  const troubled = [...caught, ...failed];
  return {
    requests: overlapping.length,
    successRate: 1 - failed.length / overlapping.length,
    failed: failed.length,
    longestLatencyMs: Math.max(...overlapping.map((r) => r.end - r.start)),
    caught: caught.length,
    stuck: overlapping.filter((r) => r.end - r.start > stuckMs).length,
    servedAgainMs: troubled.length === 0 ? 0 : Math.max(...troubled.map((r) => r.end)) - t0,
    longestGapMs: longestCompletionGap(overlapping, t0, to),
    stallPerSecond: (overlapping.filter((r) => r.end <= answeredAt).length * 1000) / (answeredAt - t0),
    longestAfterMs: Math.max(...after.map((r) => r.end - r.start)),
  };
}

/** n, p50, p99 and max of a list of durations (ms), for the tables of one-shot measurements. */
export function latencySummary(values) {
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
}
