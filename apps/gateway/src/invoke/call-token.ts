import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { agentV1 } from "@isle/proto";

/** What a call token proves: this invocation of this tenant made the call, at this depth. */
export interface CallClaims {
  tenantId: string;
  invocationId: string;
  /** 1 for a call made by an invocation a client started; +1 per nested call. */
  depth: number;
  expiresAtMs: number;
}

/** Header a function call arrives with (the agent's egress sets it; clients' copies mean nothing unsigned). */
export const callTokenHeader = "x-isle-call-token";

/** Calls may nest this deep; a loop of functions calling each other stops here. */
export const maxCallDepth = 8;

const prefix = "ict1";

/**
 * Signs and checks the tokens that let a function call its tenant's other
 * functions through the gateway without an API key. Each invocation gets one
 * in its request head; the agent keeps it out of the isolate and adds it only
 * to requests its egress routes to the gateway. HMAC-SHA256 under a key
 * derived from the secrets key, so every gateway sharing that key (as they
 * must for secrets) accepts every other gateway's tokens.
 */
export class CallTokens {
  private readonly key: Buffer;

  constructor(secretsKey: Buffer) {
    this.key = Buffer.from(hkdfSync("sha256", secretsKey, Buffer.alloc(0), "isle call token v1", 32));
  }

  mint(claims: CallClaims): string {
    const body = Buffer.from(JSON.stringify([claims.tenantId, claims.invocationId, claims.depth, claims.expiresAtMs])).toString("base64url");
    return `${prefix}.${body}.${this.sign(body)}`;
  }

  /** The claims of a genuine, unexpired token; undefined for anything else. */
  verify(token: string | undefined, nowMs: number): CallClaims | undefined {
    if (!token) return undefined;
    const [version, body, signature, ...rest] = token.split(".");
    if (version !== prefix || !body || !signature || rest.length > 0) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let fields: unknown;
    try {
      fields = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
    if (!Array.isArray(fields) || fields.length !== 4) return undefined;
    const [tenantId, invocationId, depth, expiresAtMs] = fields as unknown[];
    if (typeof tenantId !== "string" || typeof invocationId !== "string") return undefined;
    if (typeof depth !== "number" || typeof expiresAtMs !== "number" || expiresAtMs <= nowMs) return undefined;
    return { tenantId, invocationId, depth, expiresAtMs };
  }

  private sign(body: string): string {
    return createHmac("sha256", this.key).update(body).digest("base64url");
  }
}

/** How long a call token outlives its invocation's deadline (the agent's waitUntil grace). */
const callTokenGraceMs = 30_000;

/**
 * The call token of the invocation `head` describes, at call depth `depth`: valid a little
 * past its deadline, since work left in waitUntil may still call.
 */
export function signCallToken(tokens: CallTokens, head: agentV1.RequestHead, tenantId: string, depth: number): string {
  return tokens.mint({ tenantId, invocationId: head.invocationId, depth, expiresAtMs: Number(head.deadlineUnixMs) + callTokenGraceMs });
}
