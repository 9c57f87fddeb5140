import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { table } from "../terminal/table.js";
import { action, type JsonOption } from "./action.js";
import type { AgentInfo } from "./views.js";

/** `isle agents ls|drain|resume` (the operator token only). */
export function register(program: Command, io: CliIo): void {
  const agents = program.command("agents").description("agent nodes (operator token only)");
  agents
    .command("ls")
    .description("list the agent nodes connected to the gateway, with their load")
    .option("--json", "print JSON")
    .action(
      action<JsonOption>(io, async (ctx, _args, options) => {
        const { agents: list } = await ctx.client().json<{ agents: AgentInfo[] }>("GET", "/v1/agents");
        if (options.json) return ctx.json({ agents: list });
        const state = (a: AgentInfo) => (a.draining ? "draining" : a.healthy ? "healthy" : "unhealthy");
        ctx.out(
          table(
            ["ID", "ADDRESS", "STATE", "IN FLIGHT", "CAPACITY", "FUNCTIONS", "SEEN"],
            list.map((a) => [a.id, a.address, state(a), String(a.inFlight), String(a.capacity), String(a.loadedFunctions), `${a.lastSeenMsAgo} ms ago`]),
          ),
        );
      }),
    );
  for (const [name, description] of [
    ["drain", "take a node out of placement; its running invocations finish"],
    ["resume", "put a drained node back into placement"],
  ] as const) {
    agents
      .command(name)
      .description(description)
      .argument("<agent>")
      .action(
        action(io, async (ctx, [agent]) => {
          const after = await ctx.client().json<AgentInfo>("POST", `/v1/agents/${encodeURIComponent(agent!)}/${name}`);
          ctx.note(`${after.id}: ${after.draining ? "draining (every gateway stops placing on it within a second)" : "back in placement"}`);
        }),
      );
  }
}
