/**
 * Per-channel flow control for invocations multiplexed on one stream
 * (agent.proto, InvokeFrame). A sender may have at most the window's worth of
 * a channel's body bytes unacknowledged; the receiver grants more as its
 * consumer takes bytes. A slow reader therefore holds up its own channel
 * only, and no hop buffers more than one window per channel.
 */

/** Body bytes either side may send on a channel before it is granted more. */
export const defaultWindowBytes = 256 * 1024;

/** Largest body chunk put in one frame. */
export const maxChunkBytes = 64 * 1024;

/** The sending side's credit on one channel. */
export class SendWindow {
  private available: number;
  private waiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(initialBytes: number) {
    this.available = initialBytes;
  }

  /**
   * Waits until some credit is there, then takes up to `wanted` bytes of it.
   * Resolves with how many bytes may be sent now (at least 1). Rejects once
   * the channel has failed.
   */
  async reserve(wanted: number): Promise<number> {
    while (this.available <= 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve, reject) => (this.waiter = { resolve, reject }));
    }
    if (this.failure) throw this.failure;
    const granted = Math.min(wanted, this.available);
    this.available -= granted;
    return granted;
  }

  /** Takes `bytes` of credit at once if it is all there and the channel has not failed; false (nothing taken) otherwise. */
  tryTake(bytes: number): boolean {
    if (this.failure || bytes > this.available) return false;
    this.available -= bytes;
    return true;
  }

  /** The receiver took `bytes` more: wake the sender. */
  grant(bytes: number): void {
    this.available += bytes;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  /** The channel is gone: a waiting or later reserve() rejects with `err`. */
  fail(err: Error): void {
    this.failure ??= err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}

/**
 * The receiving side's bookkeeping: counts what its consumer took and sends a
 * WindowUpdate once a quarter of the window is owed, so updates stay few.
 */
export class ReceiveWindow {
  private consumed = 0;
  private granted = 0;
  private readonly threshold: number;

  constructor(
    windowBytes: number,
    private readonly sendUpdate: (bytes: number) => void,
  ) {
    this.threshold = Math.max(1, Math.floor(windowBytes / 4));
  }

  /** The consumer has now taken `totalConsumed` bytes in all. */
  consumedUpTo(totalConsumed: number): void {
    this.consumed = Math.max(this.consumed, totalConsumed);
    const owed = this.consumed - this.granted;
    if (owed >= this.threshold) {
      this.granted = this.consumed;
      this.sendUpdate(owed);
    }
  }
}

/** Splits `chunk` into pieces that fit the send window, waiting for credit between them. */
export async function* withinWindow(chunk: Buffer, window: SendWindow): AsyncGenerator<Buffer> {
  let offset = 0;
  while (offset < chunk.length) {
    const size = await window.reserve(Math.min(chunk.length - offset, maxChunkBytes));
    yield chunk.subarray(offset, offset + size);
    offset += size;
  }
}
