import { Counter, Gauge, Histogram, LabelCap, otherLabel, Registry } from "@isle/telemetry";

/** Where the gateway's gauges read their values at scrape time. */
export interface GatewayGaugeSources {
  /** Agents that report and have a workerd process ready. */
  healthyAgents(): number;
  /** Nodes and functions-on-nodes the circuit breakers keep out of placement (ADR 0012). */
  ejected?(): number;
  /** Replicas of all functions together, as the scaler decided them. */
  replicas(): number;
  /** 1 while this gateway runs the scaler, else 0. */
  scalerLeader?(): number;
  /** Requests waiting here for a function to start from zero (or for any agent). */
  activationWaiting?(): number;
}

export interface GatewayMetricsOptions {
  /** Distinct tenants labelled by name; later ones are `_other`. Default 100. */
  maxTenants?: number;
  /** Distinct tenant/function pairs labelled by name; later functions are `_other`. Default 500. */
  maxFunctions?: number;
}

/** The label objects of one tenant/function series, built once and reused on every invocation. */
interface SeriesLabels {
  labels: { tenant: string; function: string };
  /** By `status/error`: the invocation counter's labels. */
  outcomes: Map<string, { tenant: string; function: string; status: string; error: string }>;
}

/** Why a request was refused with 429; the rate limiter passes one of these. */
export type RateLimitScope = "tenant" | "key" | "concurrency";

/**
 * Invocation latency in seconds: from 5 ms (a warm isolate answering at
 * once) to a minute (the longest sync deadlines), roughly ×2–2.5 per step.
 */
export const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The gateway's Prometheus metrics, in a registry of their own (no global
 * state). Tenant and function labels are capped (LabelCap): past the first
 * `maxTenants` tenants both labels read `_other`; past the first
 * `maxFunctions` pairs, the function reads `_other` under its tenant's name.
 * Recording an invocation is one counter increment and one histogram
 * observation, plus a counter increment on a cold start; the label objects
 * are cached per series (at most maxTenants + maxFunctions + 1 of them), so
 * the hot path allocates nothing once a series exists.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly tenants: LabelCap;
  private readonly functions: LabelCap;
  private readonly series = new Map<string, SeriesLabels>();

  private readonly invocations = new Counter({
    name: "isle_gateway_invocations_total",
    help: "Sync invocations by tenant, function, HTTP status class and error code (none when the platform saw no error)",
    labelNames: ["tenant", "function", "status", "error"] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "isle_gateway_invocation_duration_seconds",
    help: "Time from the gateway resolving an invocation to its response ending, in seconds",
    labelNames: ["tenant", "function"] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });
  private readonly coldStarts = new Counter({
    name: "isle_gateway_cold_starts_total",
    help: "Invocations whose isolate was loaded for them",
    labelNames: ["tenant", "function"] as const,
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: "isle_gateway_rate_limited_total",
    help: "Requests refused with 429 by a rate or concurrency limit, by tenant and limit",
    labelNames: ["tenant", "limit"] as const,
    registers: [this.registry],
  });
  /** Invocation records past their retention, deleted by this gateway's cleanup job. */
  readonly recordsDeleted = new Counter({
    name: "isle_gateway_records_deleted_total",
    help: "Invocation records deleted by this gateway's retention job because they outlived their tenant's retention",
    registers: [this.registry],
  });
  /** Async invocations stored and not finished (waiting, in backoff or running); set by the dispatcher. */
  readonly queueDepth = new Gauge({
    name: "isle_gateway_queue_depth",
    help: "Async invocations queued and not finished: waiting, in backoff or running (dead letters excluded)",
    registers: [this.registry],
  });
  /** Schedules' ticks: `enqueued` as a timer invocation, or `skipped` (missed, or nothing deployed); counted by the scheduler. */
  readonly scheduleTicks = new Counter({
    name: "isle_gateway_schedule_ticks_total",
    help: "Ticks of functions' schedules handled by this gateway: enqueued as an invocation, or skipped (missed while the platform was down, or no active deployment)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  constructor(sources: GatewayGaugeSources, options: GatewayMetricsOptions = {}) {
    this.tenants = new LabelCap(options.maxTenants ?? 100);
    this.functions = new LabelCap(options.maxFunctions ?? 500);
    new Gauge({
      name: "isle_gateway_healthy_agents",
      help: "Agents reporting to this gateway with a workerd process ready",
      registers: [this.registry],
      collect() {
        this.set(sources.healthyAgents());
      },
    });
    new Gauge({
      name: "isle_gateway_ejected_targets",
      help: "Nodes, and functions on nodes, ejected from placement by the circuit breakers (open or half-open)",
      registers: [this.registry],
      collect() {
        this.set(sources.ejected?.() ?? 0);
      },
    });
    new Gauge({
      name: "isle_gateway_replicas",
      help: "Replicas of all functions together, as the scaler decided them",
      registers: [this.registry],
      collect() {
        this.set(sources.replicas());
      },
    });
    new Gauge({
      name: "isle_gateway_scaler_leader",
      help: "1 while this gateway runs the scaler (holds its lock), else 0",
      registers: [this.registry],
      collect() {
        this.set(sources.scalerLeader?.() ?? 0);
      },
    });
    new Gauge({
      name: "isle_gateway_activation_waiting",
      help: "Requests waiting on this gateway for a function to start from zero, or for any agent",
      registers: [this.registry],
      collect() {
        this.set(sources.activationWaiting?.() ?? 0);
      },
    });
  }

  /** Records one finished sync invocation. */
  invocation(tenant: string, fn: string, httpStatus: number, errorCode: string | undefined, coldStart: boolean, durationMs: number): void {
    const series = this.seriesOf(tenant, fn);
    const status = statusClass(httpStatus);
    const error = errorCode ?? "none";
    const outcome = `${status}/${error}`;
    let labels = series.outcomes.get(outcome);
    if (!labels) series.outcomes.set(outcome, (labels = { ...series.labels, status, error }));
    this.invocations.inc(labels);
    this.duration.observe(series.labels, durationMs / 1000);
    if (coldStart) this.coldStarts.inc(series.labels);
  }

  /** Records a request refused by a limit; for the rate limiter to call. */
  rateLimitRejected(tenant: string, limit: RateLimitScope): void {
    this.rateLimited.inc({ tenant: this.tenants.fold(tenant), limit });
  }

  /** The scrape: the text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  private seriesOf(tenant: string, fn: string): SeriesLabels {
    const t = this.tenants.fold(tenant);
    const f = t === otherLabel || this.functions.fold(`${tenant}/${fn}`) === otherLabel ? otherLabel : fn;
    // "/" cannot occur in tenant or function names (DNS labels), so the key is unambiguous.
    const key = `${t}/${f}`;
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = { labels: { tenant: t, function: f }, outcomes: new Map() }));
    return series;
  }
}

/** "2xx", "4xx", …: the class, so status codes a function invents add no series. */
function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}
