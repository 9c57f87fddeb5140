export { errorStatus, isErrorCode, type ErrorCode } from "./codes.js";
export { IsleError, errorBody, type ErrorBody } from "./isle-error.js";
