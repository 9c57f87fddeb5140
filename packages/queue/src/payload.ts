import { IsleError } from "@isle/errors";
import type { QueuePayload } from "./types.js";

/** A payload as stored: its bytes, and whether they are JSON to parse on delivery. */
export interface EncodedPayload {
  bytes: Uint8Array;
  json: boolean;
}

/** Serialise a payload, refusing one past `maxBytes` with `payload_too_large`. */
export function encodePayload(payload: QueuePayload, maxBytes: number): EncodedPayload {
  let encoded: EncodedPayload;
  if (payload instanceof Uint8Array) {
    encoded = { bytes: payload, json: false };
  } else {
    const text = JSON.stringify(payload) as string | undefined;
    if (text === undefined) throw new IsleError("validation_failed", "The queue payload is not JSON-serialisable");
    encoded = { bytes: Buffer.from(text, "utf8"), json: true };
  }
  if (encoded.bytes.byteLength > maxBytes) {
    throw new IsleError(
      "payload_too_large",
      `The queued payload is ${encoded.bytes.byteLength} bytes; the queue takes at most ${maxBytes}`,
    );
  }
  return encoded;
}

/** The payload as it was given: bytes back as a Uint8Array, an object parsed back from JSON. */
export function decodePayload(bytes: Uint8Array, json: boolean): QueuePayload {
  return json ? (JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as object) : bytes;
}
