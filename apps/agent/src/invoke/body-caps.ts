import { IsleError } from "@isle/errors";

/** Whether `bytes` is past `cap`; a cap of 0 is none. */
export function isOverCap(bytes: number, cap: number): boolean {
  return cap > 0 && bytes > cap;
}

/** The Content-Length among `headers` (names in any case), or undefined when absent or malformed. */
export function declaredLength(headers: Iterable<[string, string]>): number | undefined {
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== "content-length") continue;
    const length = Number(value);
    return value.trim() !== "" && Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  }
  return undefined;
}

/**
 * The body length a response declares. A HEAD answer and a 204 or 304 carry
 * no body whatever their Content-Length says (it describes the resource).
 */
export function declaredResponseLength(method: string, status: number, headers: Iterable<[string, string]>): number | undefined {
  if (method === "HEAD" || status === 204 || status === 304) return undefined;
  return declaredLength(headers);
}

export function requestTooLarge(cap: number): IsleError {
  return new IsleError("payload_too_large", `the request body is over the function's limit of ${cap} bytes`);
}

export function responseTooLarge(cap: number): IsleError {
  return new IsleError("response_too_large", `the function's response body is over its limit of ${cap} bytes`);
}
