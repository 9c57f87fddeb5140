/**
 * @isle/db — Isle's storage: the drizzle schema, migrations applied on open, a client over
 * Postgres or embedded PGlite, and the query helpers the gateway uses.
 */
export * as schema from "./schema/index.js";
export * from "./schema/index.js";
export {
  openDatabase,
  type Database,
  type IsleDb,
  type IsleSchema,
  type OpenDatabaseOptions,
} from "./client.js";
export { DatabaseLockedError } from "./pglite-lock.js";
export type { NotifyCallback, Unlisten } from "./listen.js";
export { advisoryLockKeys, type LockedResult } from "./advisory-locks.js";
export { newId, type IdPrefix } from "./ids.js";
export * from "./queries/index.js";
