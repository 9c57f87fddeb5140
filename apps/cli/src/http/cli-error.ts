/**
 * Exit codes of `isle`, documented in docs/adr/0022-cli.md. Scripts may switch on them.
 */
export const exitCodes = {
  ok: 0,
  /** The server answered with an error (its code is printed), or the invoked function failed. */
  api: 1,
  /** The command line or a file it names (isle.yaml) is wrong. */
  usage: 2,
  /** Not logged in: no profile, or the profile lacks what the command needs. */
  config: 3,
  /** The server could not be reached, or answered with something that is not Isle. */
  network: 4,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** An expected failure: printed as `isle: <message>` with its hint, then the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
    /** The server's error, when the failure is one. */
    readonly server?: ServerError,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** The server's one error shape, `{ error: { code, message, requestId, … } }`, plus the HTTP status. */
export interface ServerError {
  status: number;
  code: string;
  message: string;
  requestId: string | undefined;
  /** Anything else the server said (build diagnostics, say). */
  details: Record<string, unknown>;
}

export const usageError = (message: string, hint?: string) => new CliError(message, exitCodes.usage, hint);

/** What to do next, for each code of the server's closed set that a user can act on. */
const hints: Record<string, string> = {
  unauthorized: "the key or token is missing, wrong, expired or revoked: run `isle login` (or check ISLE_API_KEY)",
  forbidden: "the key lacks the scope this needs: ask an admin for a key with it (`isle keys create --scope …`)",
  not_found: "check the name (`isle functions ls`); another tenant's resources look missing too",
  validation_failed: "the request does not fit the API's schema; see the message for the field",
  bad_request: "the request is malformed; run with ISLE_DEBUG=1 to see it",
  conflict: "it clashes with the current state (an existing name, or a quota)",
  payload_too_large: "make the upload smaller: ignore files in .isleignore, or leave node_modules out",
  build_failed: "fix the error at the file:line:column shown and deploy again; the live version keeps serving",
  rate_limited: "too many requests: wait a little and retry",
  unavailable: "no agent can take it now: retry shortly, or check the server (`/readyz`)",
  internal: "the server failed; the request id helps its operator find the cause in the logs",
};

/** The hint for a server error code, or for an HTTP status when the code is unknown. */
export function hintFor(code: string, status: number): string | undefined {
  if (hints[code]) return hints[code];
  if (status === 401) return hints.unauthorized;
  if (status === 403) return hints.forbidden;
  if (status === 404) return hints.not_found;
  if (status >= 500) return hints.internal;
  return undefined;
}

/** The CLI error for an error answer of the server. */
export function serverError(error: ServerError): CliError {
  return new CliError(`${error.code} (${error.status}): ${error.message}`, exitCodes.api, hintFor(error.code, error.status), error);
}

/**
 * Reads the server's error shape from a response body; undefined when the body is not one
 * (a function's own answer, or something in front of Isle).
 */
export function parseServerError(status: number, text: string): ServerError | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = (body as { error?: unknown } | null)?.error;
  if (!error || typeof error !== "object") return undefined;
  const { code, message, requestId, ...details } = error as Record<string, unknown>;
  if (typeof code !== "string" || typeof message !== "string") return undefined;
  return { status, code, message, requestId: typeof requestId === "string" ? requestId : undefined, details };
}

/** The lines printed on stderr for a failure. */
export function describeFailure(err: CliError): string[] {
  const lines = [`isle: ${err.server ? "error " : ""}${err.message}`];
  for (const [key, value] of Object.entries(err.server?.details ?? {})) {
    lines.push(`  ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  if (err.hint) lines.push(`  hint: ${err.hint}`);
  if (err.server?.requestId) lines.push(`  request id: ${err.server.requestId}`);
  return lines;
}
