import type { Hono } from "hono";
import type { GatewayEnv } from "../../env.js";

export interface Readiness {
  /** Resolves when the database answers; rejects otherwise. */
  database(): Promise<void>;
  /** How many agents can take requests now. */
  healthyAgents(): number;
}

/** `/healthz`: the process is up. `/readyz`: it can serve invokes (database and an agent). */
export function registerHealth(app: Hono<GatewayEnv>, readiness: Readiness): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const database = await readiness.database().then(
      () => true,
      () => false,
    );
    const agents = readiness.healthyAgents();
    const ready = database && agents > 0;
    return c.json({ status: ready ? "ready" : "not_ready", database, agents }, ready ? 200 : 503);
  });
}
