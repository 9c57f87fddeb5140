import { eq, sql } from "drizzle-orm";
import type { IsleDb } from "../client.js";
import { agents, type Agent } from "../schema/agents.js";

/** What an agent reports when it registers. */
export interface AgentRegistration {
  id: string;
  address: string;
  capacity: number;
  status: string;
}

// Times come from the database clock, not the gateway's, so several gateways judging
// heartbeats against `now()` agree.

/** Register an agent, or refresh it when it re-registers after a restart. */
export async function upsertAgent(db: IsleDb, agent: AgentRegistration): Promise<Agent> {
  const { id, address, capacity, status } = agent;
  const [row] = await db
    .insert(agents)
    .values({ id, address, capacity, status })
    .onConflictDoUpdate({
      target: agents.id,
      set: { address, capacity, status, lastSeenAt: sql`now()` },
    })
    .returning();
  if (!row) throw new Error("upsert into agents returned no row");
  return row;
}

/** Record a heartbeat. False when the agent is unknown (it should register again). */
export async function markAgentSeen(db: IsleDb, id: string): Promise<boolean> {
  const rows = await db
    .update(agents)
    .set({ lastSeenAt: sql`now()` })
    .where(eq(agents.id, id))
    .returning({ id: agents.id });
  return rows.length > 0;
}
