import { afterEach, describe, expect, it } from "vitest";
import { gitEnv } from "./git-command.js";

describe("gitEnv", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("hands git none of the gateway's secrets or git settings, and no user or system config", () => {
    Object.assign(process.env, {
      ISLE_ADMIN_TOKEN: "operator-secret",
      DATABASE_URL: "postgres://user:pw@db/isle",
      ISLE_SECRETS_KEY: "c2VjcmV0",
      GIT_DIR: "/somewhere/else",
      PATH: "/usr/bin:/bin",
    });
    const env = gitEnv({ GIT_DIR: "/repo.git" });
    expect(Object.values(env).join("\n")).not.toMatch(/operator-secret|user:pw|c2VjcmV0|somewhere/);
    expect(env).toMatchObject({ PATH: "/usr/bin:/bin", GIT_DIR: "/repo.git", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_TERMINAL_PROMPT: "0" });
  });
});
