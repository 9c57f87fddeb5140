import { existsSync } from "node:fs";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { decodeContainerArtifact, type ContainerArtifact } from "@isle/proto";

/**
 * A container function's files on the host, one directory per artifact hash
 * (`<dir>/<hash>`), mounted read-only at `/app` by every replica of every
 * version built from those bytes. Written to a temporary name and renamed
 * into place, so a half-written tree is never mounted; owned by root and
 * readable by all (the container's user only reads it).
 */
export class AppTrees {
  private readonly writing = new Map<string, Promise<string>>();

  constructor(private readonly dir: string) {}

  /** The tree of `hash` (written from `bytes` the first time), and the artifact's description. */
  async ensure(hash: string, bytes: Buffer): Promise<{ path: string; artifact: ContainerArtifact }> {
    const artifact = decodeContainerArtifact(bytes);
    const path = join(this.dir, hash);
    if (!existsSync(path)) {
      let pending = this.writing.get(hash);
      if (!pending) {
        pending = this.write(path, artifact).finally(() => this.writing.delete(hash));
        this.writing.set(hash, pending);
      }
      await pending;
    }
    return { path, artifact };
  }

  /** Removes the tree of `hash` (no replica may still mount it). */
  async remove(hash: string): Promise<void> {
    await rm(join(this.dir, hash), { recursive: true, force: true });
  }

  private async write(path: string, artifact: ContainerArtifact): Promise<string> {
    const temporary = `${path}.partial-${process.pid}-${Date.now()}`;
    await rm(temporary, { recursive: true, force: true });
    await mkdir(temporary, { recursive: true, mode: 0o755 });
    for (const file of artifact.files) {
      const target = join(temporary, file.path);
      await mkdir(dirname(target), { recursive: true, mode: 0o755 });
      await writeFile(target, file.content, { mode: file.mode });
      await chmod(target, file.mode); // the umask may have cut the mode writeFile asked for
    }
    await chmod(temporary, 0o755);
    await rename(temporary, path);
    return path;
  }
}
