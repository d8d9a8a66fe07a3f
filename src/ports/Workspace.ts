/** Port: the local repository, seen as the set of files to sync. */
import type { Effect, Stream } from "effect"
import { Context } from "effect"
import type { WorkspaceError } from "../domain/errors.js"
import type { Manifest } from "../domain/manifest.js"

export interface WorkspaceSnapshot {
  /** absolute path of the repo root */
  readonly root: string
  /** tracked + untracked-not-ignored files after excludes, with content hashes */
  readonly manifest: Manifest
  /** paths skipped and why (symlink escaping the repo, unsafe path), for warnings */
  readonly skipped: ReadonlyArray<{ readonly path: string; readonly reason: string }>
}

export class Workspace extends Context.Tag("crabbox/Workspace")<Workspace, {
  /** The repo root (absolute). */
  readonly root: string
  /** List and hash the files to sync (unchanged files come from the hash cache). */
  readonly snapshot: (options: { readonly excludes: ReadonlyArray<string> }) => Effect.Effect<WorkspaceSnapshot, WorkspaceError>
  /** The bytes of one file of the snapshot, streamed. */
  readonly read: (path: string) => Stream.Stream<Uint8Array, WorkspaceError>
}>() {}
