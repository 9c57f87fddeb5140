/** The dead-letter page size asked for, within 1–1000; 100 when not given. */
export function pageLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(1000, Math.trunc(limit ?? 100)));
}
