import { errorStatus, type ErrorCode } from "./codes.js";

/**
 * An expected failure with a code from the closed set. The edge turns it into
 * `{ error: { code, message, requestId } }` with the code's HTTP status.
 * The message is shown to clients: never put secrets or stack traces in it.
 */
export class IsleError extends Error {
  readonly code: ErrorCode;
  /** Extra fields for the client, such as build diagnostics. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    // An expected refusal, named by its code: no stack trace. Capturing one is most of the
    // cost of a 429 under a flood, and a client's error never shows it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "IsleError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

/** The JSON body of every Isle error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string } & Record<string, unknown>;
}

export function errorBody(err: IsleError, requestId: string): ErrorBody {
  return { error: { ...err.details, code: err.code, message: err.message, requestId } };
}
