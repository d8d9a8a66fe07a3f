/**
 * Archive sync for delegated providers: the same manifest, excludes and guardrails as the
 * SSH sync, packed as one gzipped tar before any lease exists, so a tree that cannot be
 * synced never costs a machine. The provider uploads and extracts it.
 */
import { Effect, Option, Stream } from "effect"
import { SyncError, type SyncTooLarge, type WorkspaceError } from "../../domain/errors.js"
import type { Manifest } from "../../domain/manifest.js"
import { checkSyncSize, formatMiB } from "../../domain/syncGuardrails.js"
import { isSafeRelativePath, symlinkStaysInside } from "../../domain/syncPaths.js"
import { Workspace } from "../../ports/Workspace.js"
import type { SyncArchive } from "../providers/backend.js"
import { tarStream } from "../sync/tarPack.js"

/** Without a provider limit, the archive still has to fit in memory (it is uploaded in one piece). */
export const DEFAULT_ARCHIVE_LIMIT_BYTES = 1024 * 1024 * 1024

export interface ArchiveOptions {
  readonly excludes: ReadonlyArray<string>
  /** lift the guardrail's hard limit (not the provider's archive limit) */
  readonly forceLarge: boolean
  readonly limitBytes: number
  readonly onProgress: (line: string) => Effect.Effect<void>
}

const checkEntries = (manifest: Manifest) => {
  for (const e of manifest.entries) {
    const reason = !isSafeRelativePath(e.path)
      ? "the path could leave the workdir"
      : e.kind === "symlink" && !symlinkStaysInside(e.path, e.target ?? "")
      ? "the symlink points outside the workdir"
      : undefined
    if (reason !== undefined) return Effect.fail(new SyncError({ message: `refusing to sync ${JSON.stringify(e.path)}: ${reason}` }))
  }
  return Effect.void
}

/**
 * gzip through the platform's CompressionStream. A failure of the tar stream itself is
 * kept and reported as it was (a WorkspaceError stays one), not as a stream abort.
 */
const gzip = <E>(source: Stream.Stream<Uint8Array, E>, onAbort: (cause: unknown) => E): Stream.Stream<Uint8Array, E> =>
  Stream.unwrap(Effect.gen(function* () {
    // Written by the tap, read by fromReadableStream's synchronous error callback: no Ref fits there.
    let failure = Option.none<E>()
    const tapped = Stream.tapError(source, (e) => Effect.sync(() => { failure = Option.some(e) }))
    const readable = yield* Stream.toReadableStreamEffect(tapped)
    return Stream.fromReadableStream(
      () => readable.pipeThrough(new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>),
      (cause) => Option.getOrElse(failure, () => onAbort(cause))
    )
  }))

interface Collected {
  readonly parts: Array<Uint8Array>
  readonly size: number
}

const collect = <E>(stream: Stream.Stream<Uint8Array, E>, limitBytes: number, files: number) =>
  Stream.runFoldEffect(stream, { parts: [], size: 0 } as Collected, (acc, chunk): Effect.Effect<Collected, SyncError> => {
    const size = acc.size + chunk.byteLength
    if (size > limitBytes) {
      return Effect.fail(new SyncError({
        message: `sync archive exceeds ${limitBytes} bytes after compression (${files} files); ` +
          "exclude large or generated files with sync.exclude or .crabboxignore (--force-sync-large does not lift this limit)"
      }))
    }
    acc.parts.push(chunk)
    return Effect.succeed({ parts: acc.parts, size })
  }).pipe(Effect.map(({ parts, size }) => new Uint8Array(Buffer.concat(parts, size))))

export const buildSyncArchive = (
  options: ArchiveOptions
): Effect.Effect<SyncArchive, SyncError | SyncTooLarge | WorkspaceError, Workspace> =>
  Effect.gen(function* () {
    const workspace = yield* Workspace
    const snapshot = yield* workspace.snapshot({ excludes: options.excludes })
    for (const skipped of snapshot.skipped) yield* options.onProgress(`sync: skipping ${skipped.path}: ${skipped.reason}`)
    const entries = snapshot.manifest.entries
    yield* checkEntries(snapshot.manifest)
    const rawBytes = entries.reduce((n, e) => n + e.size, 0)
    yield* options.onProgress(`sync candidate: ${entries.length} files, ${formatMiB(rawBytes)}`)
    const verdict = yield* checkSyncSize({ files: entries.length, bytes: rawBytes }, { force: options.forceLarge })
    if (verdict._tag === "warn") yield* options.onProgress(verdict.message)
    const compressed = gzip<SyncError | WorkspaceError>(
      tarStream(entries, workspace.read),
      (cause) => new SyncError({ message: `compressing the sync archive failed: ${cause instanceof Error ? cause.message : String(cause)}` })
    )
    const bytes = yield* collect(compressed, options.limitBytes, entries.length)
    return { bytes, files: entries.length, rawBytes }
  })
