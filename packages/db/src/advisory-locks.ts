/**
 * Postgres advisory lock keys used by Isle, in one place so two features never share a key.
 * Each is a bigint (as a decimal string for the driver): the high 32 bits spell "ISLE"
 * (0x49534c45), the low bits number the use.
 */
export const advisoryLockKeys = {
  /** Held while migrations run, so gateways starting together apply them once. */
  migrate: String((0x49534c45n << 16n) | 1n),
  /** Held by the one gateway that runs the scaler loop. */
  scalerLeader: String((0x49534c45n << 16n) | 2n),
} as const;
