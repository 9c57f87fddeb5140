import { customType } from "drizzle-orm/pg-core";

/**
 * A `bytea` column read back as a Node `Buffer` whichever driver is underneath:
 * node-postgres already yields a Buffer, PGlite yields a plain Uint8Array.
 */
export const bytea = customType<{ data: Buffer; driverData: Uint8Array | string }>({
  dataType() {
    return "bytea";
  },
  toDriver(value) {
    return value;
  },
  fromDriver(value) {
    if (Buffer.isBuffer(value)) return value;
    // Text-format bytea ("\x00ff...") if a driver ever hands the raw string through.
    if (typeof value === "string") return Buffer.from(value.slice(2), "hex");
    // Copy rather than wrap: the driver's array may be a view into a reused wire buffer.
    return Buffer.from(value);
  },
});
