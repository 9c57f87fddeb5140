import { describe, expect, it } from "vitest";
import { parsePackageImport } from "./npm-specifier.js";

describe("parsePackageImport", () => {
  it.each([
    ["npm:lodash-es@4", { name: "lodash-es", range: "4", subpath: "" }],
    ["npm:zod@3/v4", { name: "zod", range: "3", subpath: "/v4" }],
    ["npm:@scope/pkg@^1.2.0/a/b.js", { name: "@scope/pkg", range: "^1.2.0", subpath: "/a/b.js" }],
    ["npm:/nanoid", { name: "nanoid", range: undefined, subpath: "" }],
    ["npm:@scope/pkg", { name: "@scope/pkg", range: undefined, subpath: "" }],
    ["nanoid/non-secure", { name: "nanoid", range: undefined, subpath: "/non-secure" }],
    ["@scope/pkg/x", { name: "@scope/pkg", range: undefined, subpath: "/x" }],
  ])("reads %s", (specifier, expected) => {
    expect(parsePackageImport(specifier)).toEqual(expected);
  });

  it.each(["npm:", "npm:@scope", "npm:pkg@file:../x", "npm:pkg@git+ssh://h/r", "npm:Upper", "@/alias", "~/x", "npm:pkg@"])(
    "refuses %s",
    (specifier) => {
      expect(parsePackageImport(specifier)).toBeUndefined();
    },
  );
});
