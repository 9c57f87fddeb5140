import { describe, expect, it } from "vitest";
import { rankByRendezvous } from "./rendezvous.js";

const agents = ["agent-a", "agent-b", "agent-c", "agent-d", "agent-e"];
const rank = (fn: string, among = agents) => rankByRendezvous(fn, among, (a) => a);
const functionIds = Array.from({ length: 2000 }, (_, i) => `fn_${i.toString(36)}`);

describe("rendezvous ranking", () => {
  it("gives every caller the same order for a function, whatever order it lists the agents in", () => {
    for (const fn of functionIds.slice(0, 50)) expect(rank(fn, [...agents].reverse())).toEqual(rank(fn));
  });

  it("spreads functions' first choices evenly over the agents", () => {
    const first = new Map<string, number>();
    for (const fn of functionIds) first.set(rank(fn)[0]!, (first.get(rank(fn)[0]!) ?? 0) + 1);
    // 2000 functions over 5 agents: 400 each; a fair hash stays well within ±20 %.
    for (const agent of agents) expect(first.get(agent)).toBeGreaterThan(320);
    for (const agent of agents) expect(first.get(agent)).toBeLessThan(480);
  });

  it("moves only the functions of an agent that leaves, and keeps the others' order", () => {
    const without = agents.filter((a) => a !== "agent-c");
    for (const fn of functionIds.slice(0, 300)) {
      const before = rank(fn).filter((a) => a !== "agent-c");
      expect(rank(fn, without)).toEqual(before);
    }
  });

  it("gives a joining agent only the functions that now rank it first", () => {
    const grown = [...agents, "agent-f"];
    let moved = 0;
    for (const fn of functionIds) {
      const after = rank(fn, grown);
      if (after[0] !== rank(fn)[0]) {
        expect(after[0]).toBe("agent-f");
        moved++;
      }
    }
    // About 1/6 of the functions move to the new agent.
    expect(moved).toBeGreaterThan(2000 / 6 - 100);
    expect(moved).toBeLessThan(2000 / 6 + 100);
  });
});
