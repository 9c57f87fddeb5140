import type { agentV1 } from "@isle/proto";
import { Counter, Gauge, Registry } from "@isle/telemetry";

/** Where the agent's gauges read their values at scrape time. */
export interface AgentGaugeSources {
  inFlight(): number;
  workerdReady(): number;
  /** Container replicas running on this agent; absent: not reported. */
  containers?(): number;
  quarantined(): number;
}

type Frame = agentV1.InvokeFrame["frame"];

/**
 * The agent's Prometheus metrics, in a registry of their own. No tenant or
 * function labels: the agent's view is per node, and the gateway already
 * breaks invocations down by tenant and function (with its label cap). The
 * labels here come from closed lists (error codes, egress refusal codes).
 */
export class AgentMetrics {
  readonly registry = new Registry();
  /** Label objects by status, built once: the list of error codes is closed. */
  private readonly statuses = new Map<string, { status: string }>();

  private readonly invocations = new Counter({
    name: "isle_agent_invocations_total",
    help: "Invocations this agent ended, by status: ok, or the error code of its trailer",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  private readonly coldStarts = new Counter({
    name: "isle_agent_cold_starts_total",
    help: "Invocations whose isolate was loaded for them",
    registers: [this.registry],
  });
  private readonly watchdogKills = new Counter({
    name: "isle_agent_watchdog_kills_total",
    help: "workerd processes killed by the watchdog for not answering the liveness probe after an abandoned request",
    registers: [this.registry],
  });
  private readonly workerdRecycles = new Counter({
    name: "isle_agent_workerd_recycles_total",
    help: "workerd processes drained and restarted because their memory passed ISLE_WORKERD_RECYCLE_MB",
    registers: [this.registry],
  });
  private readonly oomKills = new Counter({
    name: "isle_agent_oom_kills_total",
    help: "Invocations failed with memory_limit: their workerd process ran out of memory and was killed",
    registers: [this.registry],
  });
  private readonly egressRefusals = new Counter({
    name: "isle_agent_egress_refusals_total",
    help: "Outbound requests of functions refused by the egress policy, by refusal code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });

  constructor(sources: AgentGaugeSources) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge("isle_agent_in_flight_invocations", "Invocations running on this agent now", sources.inFlight);
    gauge("isle_agent_workerd_processes_ready", "workerd processes of the pool ready for requests", sources.workerdReady);
    if (sources.containers) gauge("isle_agent_containers_running", "Container replicas running on this agent", sources.containers);
    gauge("isle_agent_quarantined_deployments", "Deployments this agent refuses after they stalled workerd repeatedly", sources.quarantined);
  }

  /**
   * Wraps a channel's frame sender to count what it sends: one invocation per
   * trailer (every channel ends with exactly one, refusals included, alone
   * or inside a whole-answer response head) and a cold start per response
   * head that says so.
   */
  observe(send: (frame: Frame) => void): (frame: Frame) => void {
    return (frame) => {
      if (frame?.$case === "trailer") this.invocationEnded(frame.value.errorCode);
      else if (frame?.$case === "responseHead") {
        if (frame.value.coldStart) this.coldStarts.inc();
        if (frame.value.trailer) this.invocationEnded(frame.value.trailer.errorCode);
      }
      send(frame);
    };
  }

  /** Counts an ended invocation; "" is success. */
  invocationEnded(errorCode: string): void {
    const status = errorCode || "ok";
    let labels = this.statuses.get(status);
    if (!labels) this.statuses.set(status, (labels = { status }));
    this.invocations.inc(labels);
    if (errorCode === "memory_limit") this.oomKills.inc();
  }

  watchdogKill(): void {
    this.watchdogKills.inc();
  }

  workerdRecycled(): void {
    this.workerdRecycles.inc();
  }

  egressRefused(code: string): void {
    this.egressRefusals.inc({ code });
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
