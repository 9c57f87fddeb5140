/**
 * Reads an encoded InvokeFrame's top level without decoding it: its channel
 * (field 10, varint) and which oneof case it carries (fields 1–7, each
 * length-delimited), with where that field's bytes are. A frame has at most
 * these two fields, so this is a couple of varints per frame, however large
 * the body it carries — the sidecar's pass-through stays a byte pump.
 */
export interface FrameTop {
  channel: number;
  /** The oneof's field number (see `frameCase`), 0 when absent. */
  kind: number;
  /** Bytes of the oneof field's value within the frame. */
  start: number;
  end: number;
}

/** InvokeFrame's oneof field numbers (agent.proto). */
export const frameCase = { requestHead: 1, body: 2, responseHead: 3, trailer: 4, endOfBody: 5, cancel: 6, windowUpdate: 7 } as const;

/** Undefined when the bytes are not a well-formed frame top level. */
export function scanFrame(buf: Uint8Array): FrameTop | undefined {
  const top: FrameTop = { channel: 0, kind: 0, start: 0, end: 0 };
  for (let pos = 0; pos < buf.length; ) {
    const field = readField(buf, pos, buf.length);
    // A frame's top level has varints and length-delimited fields only.
    if (!field || (field.wire !== 0 && field.wire !== 2)) return undefined;
    if (field.wire === 0 && field.number === 10) top.channel = field.value;
    if (field.wire === 2 && field.number >= 1 && field.number <= 7) {
      top.kind = field.number;
      top.start = field.start;
      top.end = field.end;
    }
    pos = field.next;
  }
  return top;
}

/** ResponseHead's `trailer` field (agent.proto): set when the head is the whole answer. */
const responseHeadTrailerField = 5;

/**
 * Whether a response head frame (scanned as `top`) is a whole answer: its
 * head carries the trailer, so the channel ends with it. Reads the head's
 * field tags only, never its headers or body.
 */
export function isWholeAnswer(buf: Uint8Array, top: FrameTop): boolean {
  return top.kind === frameCase.responseHead && findField(buf, top.start, top.end, responseHeadTrailerField) !== undefined;
}

/** Where length-delimited field `field` of the message in `buf[start, end)` is; undefined when absent or malformed. */
export function findField(buf: Uint8Array, start: number, end: number, field: number): { start: number; end: number } | undefined {
  for (let pos = start; pos < end; ) {
    const found = readField(buf, pos, end);
    if (!found) return undefined;
    if (found.wire === 2 && found.number === field) return { start: found.start, end: found.end };
    pos = found.next;
  }
  return undefined;
}

/**
 * One field of a protobuf message at `buf[pos]`, within `end`: its number,
 * wire type, value (a varint's; a length-delimited field's length) and where
 * its bytes are; `next` is where the following field starts. Undefined when
 * cut short or of a wire type protobuf 3 does not write (groups).
 */
function readField(
  buf: Uint8Array,
  pos: number,
  end: number,
): { number: number; wire: number; value: number; start: number; end: number; next: number } | undefined {
  const tag = readVarint(buf, pos, end);
  if (!tag) return undefined;
  const number = Math.floor(tag.value / 8);
  const wire = tag.value & 7;
  if (wire === 0) {
    const value = readVarint(buf, tag.next, end);
    return value && { number, wire, value: value.value, start: tag.next, end: value.next, next: value.next };
  }
  if (wire === 2) {
    const length = readVarint(buf, tag.next, end);
    if (!length || length.next + length.value > end) return undefined;
    const stop = length.next + length.value;
    return { number, wire, value: length.value, start: length.next, end: stop, next: stop };
  }
  if (wire === 1 || wire === 5) {
    const stop = tag.next + (wire === 1 ? 8 : 4);
    return stop > end ? undefined : { number, wire, value: 0, start: tag.next, end: stop, next: stop };
  }
  return undefined;
}

/** A base-128 varint of up to 35 bits (uint32 fields and lengths) before `end`; undefined when cut short or longer. */
function readVarint(buf: Uint8Array, pos: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) return undefined;
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return { value, next: pos };
  }
  return undefined;
}
