/**
 * The one place that turns a workerd config (plain typed objects) into
 * Cap'n Proto text. Objects become structs `( a = 1 )`, arrays lists `[ … ]`,
 * strings quoted literals, and {@link Embed} an `embed "file"` expression.
 * Keys whose value is undefined are left out, as capnp defaults apply then.
 */

/** A value read from a file beside the config at load time (`embed "path"`). */
export class Embed {
  constructor(readonly path: string) {}
}

/** Any value the serializer understands. */
export type CapnpValue =
  | string
  | number
  | boolean
  | Embed
  | readonly CapnpValue[]
  | { readonly [key: string]: CapnpValue | undefined };

/**
 * Serialises `value` as the constant `name` of type `Workerd.<type>`, with
 * the import of workerd's schema, ready for `workerd serve <file>`.
 */
export function toCapnpFile(value: CapnpValue, name = "config", type = "Config"): string {
  return `using Workerd = import "/workerd/workerd.capnp";\n\nconst ${name} :Workerd.${type} = ${toCapnp(value)};\n`;
}

/** Serialises one value as Cap'n Proto text, indented two spaces a level. */
export function toCapnp(value: CapnpValue, indent = ""): string {
  if (typeof value === "string") return quote(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`capnp: cannot encode number ${value}`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value instanceof Embed) return `embed ${quote(value.path)}`;
  const inner = indent + "  ";
  let items: string[];
  let open: string;
  let close: string;
  if (isList(value)) {
    items = value.map((item) => toCapnp(item, inner));
    [open, close] = ["[", "]"];
  } else {
    const fields = Object.entries(value).filter((entry): entry is [string, CapnpValue] => entry[1] !== undefined);
    for (const [key] of fields) {
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new Error(`capnp: bad field name ${key}`);
    }
    items = fields.map(([key, v]) => `${key} = ${toCapnp(v, inner)}`);
    // `()` is also how a Void union member or an all-default group is written.
    [open, close] = ["(", ")"];
  }
  // Short values stay on one line so that a dumped config reads like a hand-written one.
  const oneLine = `${open}${items.join(", ")}${close}`;
  if (oneLine.length <= 72 && !oneLine.includes("\n")) return oneLine;
  return `${open}\n${items.map((item) => inner + item).join(",\n")}\n${indent}${close}`;
}

function isList(value: CapnpValue): value is readonly CapnpValue[] {
  return Array.isArray(value);
}

/**
 * A capnp text literal. Capnp takes C-style escapes; every control character
 * is written as \xNN so that no path or source text can end the literal.
 */
function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}
