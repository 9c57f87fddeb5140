import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { usageError } from "../http/cli-error.js";
import { isTemplateName, templateFor, templateNames } from "../templates/templates.js";
import { action } from "./action.js";

interface InitOptions {
  template: string;
  dir?: string;
}

/** `isle init <name>`: a new function's directory from a template. */
export function register(program: Command, io: CliIo): void {
  program
    .command("init")
    .description("create a function's directory from a template; prints the directory")
    .argument("<name>", "the function's name (a DNS label)")
    .option("-t, --template <template>", `${templateNames.join(", ")}`, "deno")
    .option("--dir <dir>", "where to create it (default: ./<name>)")
    .action(
      action<InitOptions, [string]>(io, async (ctx, [name], options) => {
        if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) throw usageError(`${JSON.stringify(name)} is not a function name`, "a DNS label: a-z, 0-9 and '-'");
        if (options.template === "container") {
          throw usageError("--template container needs a language", "use --template python, node-container or exec");
        }
        if (!isTemplateName(options.template)) {
          throw usageError(`unknown template ${JSON.stringify(options.template)}`, `templates: ${templateNames.join(", ")}`);
        }
        const dir = resolve(io.cwd, options.dir ?? name);
        if (existsSync(dir) && readdirSync(dir).length > 0) throw usageError(`${dir} exists and is not empty`, "choose another --dir");
        mkdirSync(dir, { recursive: true });
        const template = templateFor(options.template, name);
        for (const [file, text] of Object.entries(template.files)) {
          writeFileSync(join(dir, file), text, { flag: "wx", mode: template.executable?.includes(file) ? 0o755 : 0o644 });
        }
        const shown = relative(io.cwd, dir) || ".";
        ctx.out(shown);
        ctx.note(`created ${name} (${template.description}) in ${shown}: ${Object.keys(template.files).join(", ")}`);
        ctx.note(`next: \`isle dev ${shown}\` runs it locally, \`isle deploy ${shown}\` deploys it`);
      }),
    );
}
