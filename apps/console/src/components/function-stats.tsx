import { useEffect } from "preact/hooks";
import type { Api } from "../api.js";
import { ErrorBox, useLoad } from "./async.js";
import { StatsCharts } from "./stats-charts.js";

/** How often the charts re-read; records land in batches, so the last bucket keeps filling. */
const refreshMs = 5000;

/** The function's last 24 hours in 24 buckets; nothing at all from a gateway without the stats route. */
export function FunctionStatsSection({ api, tenant, fn, refresh }: { api: Api; tenant: string; fn: string; refresh: number }) {
  const { data, error, reload } = useLoad(() => api.functionStats(tenant, fn, 24, 24), [tenant, fn, refresh]);
  // Only a gateway that has the route is asked again: an older one would answer 404 each time.
  const available = data !== null && data !== undefined;
  useEffect(() => {
    if (!available) return;
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [available, reload]);
  if (error) return <ErrorBox error={`stats: ${error}`} />;
  return data ? <StatsCharts stats={data} /> : null;
}
