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
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (!tag) return undefined;
    pos = tag.next;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value & 7;
    if (wire === 0) {
      const value = readVarint(buf, pos);
      if (!value) return undefined;
      pos = value.next;
      if (field === 10) top.channel = value.value;
    } else if (wire === 2) {
      const length = readVarint(buf, pos);
      if (!length || length.next + length.value > buf.length) return undefined;
      if (field >= 1 && field <= 7) {
        top.kind = field;
        top.start = length.next;
        top.end = length.next + length.value;
      }
      pos = length.next + length.value;
    } else {
      return undefined;
    }
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
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos);
    if (!tag || tag.next > end) return undefined;
    pos = tag.next;
    const wire = tag.value & 7;
    if (wire === 0) {
      const value = readVarint(buf, pos);
      if (!value) return undefined;
      pos = value.next;
    } else if (wire === 2) {
      const length = readVarint(buf, pos);
      if (!length || length.next + length.value > end) return undefined;
      if (Math.floor(tag.value / 8) === field) return { start: length.next, end: length.next + length.value };
      pos = length.next + length.value;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** A base-128 varint of up to 35 bits (uint32 fields and lengths); undefined when cut short or longer. */
function readVarint(buf: Uint8Array, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= buf.length) return undefined;
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return { value, next: pos };
  }
  return undefined;
}
