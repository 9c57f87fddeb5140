import { describe, expect, it } from "vitest";
import { CliError, exitCodes } from "../http/cli-error.js";
import { normaliseUrl } from "./url.js";

describe("normaliseUrl", () => {
  it.each([
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["http://127.0.0.1:8080/", "http://127.0.0.1:8080"],
    ["localhost:8080", "http://localhost:8080"],
    ["127.0.0.1:9000/v1/", "http://127.0.0.1:9000"],
    ["[::1]:8080", "http://[::1]:8080"],
    ["isle.example.com", "https://isle.example.com"],
    ["HTTPS://Isle.Example.COM/isle//", "https://isle.example.com/isle"],
    ["  https://isle.example.com/v1  ", "https://isle.example.com"],
  ])("%s → %s", (input, expected) => {
    expect(normaliseUrl(input)).toBe(expected);
  });

  it.each(["", "ftp://isle.example.com", "https://user:pw@isle.example.com", "https://isle.example.com/?x=1", "http://"])(
    "refuses %j as a usage error",
    (input) => {
      let error: unknown;
      try {
        normaliseUrl(input);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(exitCodes.usage);
    },
  );
});
