import type { Context } from "hono";
import type { z } from "zod";
import { IsleError } from "@isle/errors";

/**
 * Reads a JSON body against a strict schema: malformed JSON is `bad_request`,
 * a body that does not fit (unknown fields included) is `validation_failed`
 * naming the field.
 */
export async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  let value: unknown;
  try {
    const text = await c.req.text();
    value = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new IsleError("bad_request", "the body is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new IsleError("validation_failed", `${where}${issue?.message ?? "invalid body"}`);
  }
  return parsed.data;
}
