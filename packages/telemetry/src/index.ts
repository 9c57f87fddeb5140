export { createLogger, serializeError, type Logger, type LoggerSettings } from "./logger.js";
