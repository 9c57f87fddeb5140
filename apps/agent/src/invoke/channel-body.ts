import { Readable } from "node:stream";
import type { IsleError } from "@isle/errors";
import { ReceiveWindow } from "@isle/proto";
import { isOverCap, requestTooLarge } from "./body-caps.js";

/** The body's size cap (0: none), and who hears first when it is passed. */
export interface BodyCap {
  maxBytes: number;
  onOverflow(error: IsleError): void;
}

/**
 * A request body arriving as frames on one channel, read by the runtime as a
 * Node stream. Chunks wait in a queue here and are handed to the stream only
 * when its reader asks (highWaterMark 0), and credit goes back to the caller
 * as they are handed over, so at most one window of the body is held here.
 *
 * (Granting from Readable's own buffer does not work: `_read` runs before the
 * buffer shrinks and not again until the next push, so a fully sent window
 * would never be acknowledged.)
 *
 * Bytes are counted as they arrive: the chunk that would pass the cap is not
 * handed over; the stream errors instead, so a reader never takes a cut-off
 * body for a whole one.
 */
export class ChannelBody extends Readable {
  private readonly queue: Buffer[] = [];
  private readonly window: ReceiveWindow;
  private handedOutBytes = 0;
  private receivedBytes = 0;
  private ended = false;
  private wanted = false;

  constructor(
    windowBytes: number,
    sendUpdate: (bytes: number) => void,
    private readonly cap: BodyCap = { maxBytes: 0, onOverflow: () => undefined },
  ) {
    super({ highWaterMark: 0 });
    this.window = new ReceiveWindow(windowBytes, sendUpdate);
  }

  /** A body frame arrived. */
  add(chunk: Buffer): void {
    if (this.destroyed || this.ended) return;
    this.receivedBytes += chunk.length;
    if (isOverCap(this.receivedBytes, this.cap.maxBytes)) {
      const error = requestTooLarge(this.cap.maxBytes);
      this.cap.onOverflow(error);
      this.destroy(error);
      return;
    }
    this.queue.push(chunk);
    this.deliver();
  }

  /** The caller's EndOfBody frame arrived. */
  finish(): void {
    this.ended = true;
    this.deliver();
  }

  override _read(): void {
    this.wanted = true;
    this.deliver();
  }

  private deliver(): void {
    while (this.wanted && !this.destroyed) {
      const chunk = this.queue.shift();
      if (!chunk) {
        if (this.ended) {
          this.wanted = false;
          this.push(null);
        }
        return;
      }
      this.handedOutBytes += chunk.length;
      this.window.consumedUpTo(this.handedOutBytes);
      this.wanted = this.push(chunk);
    }
  }
}
