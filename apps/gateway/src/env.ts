/** Per-request values the gateway's middleware sets on the Hono context. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    /** Set on invoke routes; echoed as x-isle-invocation-id on every answer. */
    invocationId: string | undefined;
  };
}
