import { IsleError } from "@isle/errors";
import { hasScope, presentedCredential, type ApiKeyVerifier } from "../../auth/api-keys.js";
import type { InvokeTarget } from "../../invoke/target-resolver.js";

/** One answer for every kind of bad credential, so none can be told apart. */
const unauthorized = () => new IsleError("unauthorized", "a valid API key of this function's tenant is required");

/**
 * Lets a request invoke `target`: a public function needs nothing; a private
 * one needs a key of the same tenant with the `invoke` scope (or `admin`),
 * and, if the key is restricted to one function, this one. Returns the id of
 * the key that authorised it (undefined for a public function), whose rate
 * limit the invoke then counts against.
 */
export async function authorizeInvoke(
  target: InvokeTarget,
  credentials: { authorization: string | undefined; apiKey: string | undefined },
  verifier: ApiKeyVerifier,
): Promise<string | undefined> {
  if (target.visibility === "public") return undefined;
  const key = await verifier.verify(presentedCredential(credentials.authorization, credentials.apiKey));
  if (!key || key.tenantId !== target.tenantId) throw unauthorized();
  if (!hasScope(key, "invoke") || (key.functionName !== null && key.functionName !== target.functionName)) {
    throw new IsleError("forbidden", "this API key may not invoke this function");
  }
  return key.id;
}
