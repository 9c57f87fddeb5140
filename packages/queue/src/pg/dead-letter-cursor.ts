import { IsleError } from "@isle/errors";

/** Where the next page of dead letters starts: strictly after this (deadAt, id). */
export interface DeadLetterCursor {
  deadAt: Date;
  id: string;
}

/** An opaque cursor: base64url of `<ms since epoch>.<id>` (dead times are stored to the millisecond). */
export function encodeDeadLetterCursor(last: DeadLetterCursor): string {
  return Buffer.from(`${last.deadAt.getTime()}.${last.id}`, "utf8").toString("base64url");
}

export function decodeDeadLetterCursor(cursor: string): DeadLetterCursor {
  const match = /^(\d{1,15})\.(.+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw new IsleError("bad_request", "Invalid dead-letter cursor");
  return { deadAt: new Date(Number(match[1])), id: match[2]! };
}
