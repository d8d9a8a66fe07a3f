/**
 * The sync engine: make the remote workdir hold exactly the workspace snapshot, over one
 * SSH session, with nothing but POSIX sh, GNU tar and coreutils on the box.
 *
 * An unchanged tree costs one exec (the fingerprint probe). A changed tree costs two:
 * the probe, which also returns the remote manifest, and one upload that deletes what
 * went away and extracts what is new or changed.
 */
import { Effect } from "effect"
import type { SshError, SyncTooLarge, WorkspaceError } from "../../domain/errors.js"
import { SyncError } from "../../domain/errors.js"
import { emptyManifest, type Manifest } from "../../domain/manifest.js"
import { diffManifests } from "../../domain/manifestDiff.js"
import { checkSyncSize, formatMiB } from "../../domain/syncGuardrails.js"
import { isSafeRelativePath, symlinkStaysInside } from "../../domain/syncPaths.js"
import type { SshSession } from "../../ports/SshTransport.js"
import { Workspace } from "../../ports/Workspace.js"
import { manifestFingerprint } from "./fingerprint.js"
import { probeRemote } from "./remoteManifest.js"
import { upload } from "./upload.js"

export interface SyncOptions {
  /** absolute remote directory that receives the tree */
  readonly workdir: string
  /** absolute remote directory for the manifest and fingerprint (may sit inside workdir) */
  readonly metaDir: string
  /** configured `sync.exclude` patterns */
  readonly excludes: ReadonlyArray<string>
  /** lift the size guardrail's hard limit */
  readonly forceLarge: boolean
  /** wipe the workdir and upload everything, ignoring the fingerprint */
  readonly fullResync: boolean
  readonly onProgress: (line: string) => Effect.Effect<void>
}

export interface SyncResult {
  /** the fingerprint matched: nothing was transferred */
  readonly skipped: boolean
  /** files (and symlinks) in the synced tree */
  readonly files: number
  readonly uploadedFiles: number
  readonly uploadedBytes: number
  readonly removedFiles: number
  readonly fingerprint: string
}

const trimSlashes = (dir: string): string => dir.replace(/\/+$/, "")

const checkDirectories = (options: SyncOptions) => {
  const workdir = trimSlashes(options.workdir)
  const metaDir = trimSlashes(options.metaDir)
  const bad = [workdir, metaDir].find((d) => !d.startsWith("/") || d.includes("\0") || d.split("/").includes(".."))
  if (bad !== undefined || workdir === metaDir) {
    return Effect.fail(new SyncError({
      message: `sync needs distinct absolute remote directories other than /, got workdir=${options.workdir} ` +
        `metaDir=${options.metaDir}`
    }))
  }
  // When the metadata lives inside the workdir, no synced path may land on it.
  const metaInside = metaDir.startsWith(`${workdir}/`) ? metaDir.slice(workdir.length + 1) : undefined
  return Effect.succeed({ workdir, metaDir, metaInside })
}

const touchesMeta = (metaInside: string | undefined, path: string): boolean =>
  metaInside !== undefined && (path === metaInside || path.startsWith(`${metaInside}/`))

/** The workspace adapter already drops unsafe entries; this keeps the engine safe with any adapter. */
const checkLocal = (manifest: Manifest, metaInside: string | undefined) => {
  for (const e of manifest.entries) {
    const reason = !isSafeRelativePath(e.path)
      ? "the path could leave the workdir"
      : e.kind === "symlink" && !symlinkStaysInside(e.path, e.target ?? "")
      ? "the symlink points outside the workdir"
      : touchesMeta(metaInside, e.path)
      ? "it would overwrite the sync metadata"
      : undefined
    if (reason !== undefined) {
      return Effect.fail(new SyncError({ message: `refusing to sync ${JSON.stringify(e.path)}: ${reason}` }))
    }
  }
  return Effect.void
}

const bytesOf = (entries: Manifest["entries"]): number => entries.reduce((n, e) => n + e.size, 0)

export const syncWorkspace = (
  session: SshSession,
  options: SyncOptions
): Effect.Effect<SyncResult, SyncError | SyncTooLarge | WorkspaceError | SshError, Workspace> =>
  Effect.gen(function* () {
    const { metaDir, metaInside, workdir } = yield* checkDirectories(options)
    const workspace = yield* Workspace
    const snapshot = yield* workspace.snapshot({ excludes: options.excludes })
    for (const skipped of snapshot.skipped) {
      yield* options.onProgress(`sync: skipping ${skipped.path}: ${skipped.reason}`)
    }
    const next = snapshot.manifest
    yield* checkLocal(next, metaInside)
    yield* options.onProgress(`sync candidate: ${next.entries.length} files, ${formatMiB(bytesOf(next.entries))}`)
    const fingerprint = manifestFingerprint(next, { workdir, excludes: options.excludes })
    const result = { files: next.entries.length, fingerprint }

    let previous = emptyManifest
    if (!options.fullResync) {
      const remote = yield* probeRemote(session, { workdir, metaDir, fingerprint })
      if (remote._tag === "same") {
        yield* options.onProgress("No changes detected, skipping sync")
        return { ...result, skipped: true, uploadedFiles: 0, uploadedBytes: 0, removedFiles: 0 }
      }
      if (!remote.readable) {
        yield* options.onProgress("warning: remote sync manifest is unreadable; uploading everything")
      }
      previous = remote.manifest
    }

    const diff = diffManifests(previous, next)
    const removedInMeta = diff.remove.find((p) => touchesMeta(metaInside, p))
    if (removedInMeta !== undefined) {
      return yield* new SyncError({ message: `remote sync manifest names ${removedInMeta}, inside the sync metadata` })
    }
    const uploadedBytes = bytesOf(diff.upload)
    const verdict = yield* checkSyncSize({ files: diff.upload.length, bytes: uploadedBytes }, { force: options.forceLarge })
    if (verdict._tag === "warn") yield* options.onProgress(verdict.message)
    yield* options.onProgress(
      `sync: uploading ${diff.upload.length} files (${formatMiB(uploadedBytes)}), removing ${diff.remove.length}`
    )
    yield* upload(session, {
      workdir, metaDir, fingerprint, fullResync: options.fullResync, previous, next, diff, read: workspace.read
    })
    return {
      ...result,
      skipped: false,
      uploadedFiles: diff.upload.length,
      uploadedBytes,
      removedFiles: diff.remove.length
    }
  })
