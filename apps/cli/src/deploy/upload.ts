import { basename, resolve } from "node:path";
import type { Context } from "../context.js";
import { functionUrl, type DeploymentInfo } from "../commands/views.js";
import { collectFiles } from "./collect.js";
import { tarGz } from "./tar.js";

/** One function to deploy: where its sources are and how to set it up. */
export interface DeployRequest {
  name: string;
  dir: string;
  entry?: string | undefined;
  message?: string | undefined;
  /** Function settings put before the upload (from isle.yaml, or --public); none: leave them. */
  settings?: Record<string, unknown> | undefined;
  includeNodeModules?: boolean | undefined;
}

export interface Deployed {
  url: string;
  deployment: Pick<DeploymentInfo, "id" | "version" | "status">;
}

const chunkBytes = 64 * 1024;

/**
 * Deploys a directory: settings first (creating the function with them), then the directory as
 * a tar.gz, streamed so progress can be shown on stderr — bytes while uploading, then
 * "building…" until the server answers (it answers once the new version serves).
 */
export async function deployDirectory(ctx: Context, request: DeployRequest): Promise<Deployed> {
  const tenant = await ctx.tenant();
  const client = ctx.client();
  const label = `${tenant}/${request.name}`;
  const { files, skippedLinks } = collectFiles(request.dir, { includeNodeModules: request.includeNodeModules });
  for (const link of skippedLinks) ctx.note(`${label}: skipping ${link} (a symbolic link)`);
  const archive = tarGz(files);
  if (request.settings && Object.keys(request.settings).length > 0) {
    await client.json("PUT", await ctx.functionPath(request.name), { json: request.settings });
  }

  const progress = new Progress(ctx, label, archive.byteLength, files.length);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= archive.byteLength) {
        controller.close();
        progress.building();
        return;
      }
      const chunk = archive.subarray(sent, sent + chunkBytes);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
      progress.uploaded(sent);
    },
  });
  const started = Date.now();
  const deployment = await client.json<Deployed["deployment"]>("POST", await ctx.functionPath(request.name, "/deployments"), {
    body,
    headers: { "content-type": "application/gzip" },
    query: { entry: request.entry, message: request.message },
  });
  progress.done(`deployed ${label}: version ${deployment.version} (${deployment.id}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { url: functionUrl(client.baseUrl, tenant, request.name), deployment };
}

/** A function name from a directory: its base name, when that is a DNS label. */
export function nameFromDir(dir: string): string | undefined {
  const name = basename(resolve(dir)).toLowerCase();
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name) ? name : undefined;
}

/**
 * Upload progress on stderr: one line rewritten in place on a terminal; elsewhere (CI logs,
 * pipes) only the plain milestones, no carriage returns.
 */
class Progress {
  private readonly live: boolean;
  private lastDraw = 0;

  constructor(
    private readonly ctx: Context,
    private readonly label: string,
    private readonly total: number,
    files: number,
  ) {
    this.live = Boolean(ctx.io.stderr.isTTY);
    if (!this.live) ctx.note(`uploading ${label}: ${files} file${files === 1 ? "" : "s"}, ${size(total)}`);
  }

  uploaded(bytes: number): void {
    if (!this.live) return;
    const now = Date.now();
    if (bytes < this.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.ctx.io.stderr.write(`\r\x1b[Kuploading ${this.label}: ${size(bytes)} / ${size(this.total)}`);
  }

  building(): void {
    if (this.live) this.ctx.io.stderr.write(`\r\x1b[Kbuilding ${this.label}…`);
    else this.ctx.note(`building ${this.label}…`);
  }

  done(line: string): void {
    if (this.live) this.ctx.io.stderr.write("\r\x1b[K");
    this.ctx.note(line);
  }
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
