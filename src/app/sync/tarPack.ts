/**
 * The upload as a tar stream, produced lazily: file bytes flow from `Workspace.read`
 * through tar-stream's `pack` one entry at a time, with backpressure end to end, so a
 * multi-GB tree never sits in memory. Names that do not fit ustar (long or non-ASCII)
 * get pax headers from tar-stream; modes are normalized to 0755/0644.
 */
import { Deferred, Effect, Exit, Stream } from "effect"
import type { Header, Pack } from "tar-stream"
import { pack as makePack } from "tar-stream"
import { SyncError, type WorkspaceError } from "../../domain/errors.js"
import type { ManifestEntry } from "../../domain/manifest.js"

/** Fixed, because the remote extracts with `-m` (extraction time) and a stable archive is easier to debug. */
const epoch = new Date(0)

type EntrySink = ReturnType<Pack["entry"]>

const headerOf = (entry: ManifestEntry): Partial<Header> & Pick<Header, "name"> =>
  entry.kind === "symlink"
    ? { name: entry.path, type: "symlink", linkname: entry.target ?? "", mode: 0o777, mtime: epoch }
    : { name: entry.path, type: "file", size: entry.size, mode: entry.executable ? 0o755 : 0o644, mtime: epoch }

const tarFailure = (path: string, cause: unknown) =>
  new SyncError({ message: `tar stream failed at ${path}: ${cause instanceof Error ? cause.message : String(cause)}` })

const changedWhileSyncing = (path: string) =>
  new SyncError({ message: `${path} changed size while syncing; run the sync again` })

/** Write one chunk, waiting for the entry to drain when tar-stream asks us to. */
const writeChunk = (path: string, sink: EntrySink, chunk: Uint8Array) =>
  Effect.async<void, SyncError>((resume) => {
    if (sink.write(chunk)) return resume(Effect.void)
    const cleanup = () => {
      sink.off("drain", onDrain)
      sink.off("close", onClose)
    }
    const onDrain = () => {
      cleanup()
      resume(Effect.void)
    }
    const onClose = () => {
      cleanup()
      resume(Effect.fail(tarFailure(path, "entry closed")))
    }
    sink.once("drain", onDrain)
    sink.once("close", onClose)
    return Effect.sync(cleanup)
  })

const addEntry = (
  pack: Pack,
  entry: ManifestEntry,
  read: (path: string) => Stream.Stream<Uint8Array, WorkspaceError>
) =>
  Effect.gen(function* () {
    const done = yield* Deferred.make<void, SyncError>()
    const sink = pack.entry(headerOf(entry), (err) => {
      Deferred.unsafeDone(done, err ? Exit.fail(tarFailure(entry.path, err)) : Exit.void)
    })
    if (entry.kind === "file") {
      // The header already promised `size` bytes; a file that grew or shrank since the
      // snapshot would corrupt the archive, so stop instead.
      const written = yield* Stream.runFoldEffect(read(entry.path), 0, (n, chunk) =>
        n + chunk.byteLength > entry.size
          ? Effect.fail(changedWhileSyncing(entry.path))
          : Effect.as(writeChunk(entry.path, sink, chunk), n + chunk.byteLength))
      if (written !== entry.size) return yield* changedWhileSyncing(entry.path)
      sink.end(undefined)
    }
    yield* Deferred.await(done)
  })

/** A tar archive of `entries` (files and symlinks), read through `read`. */
export const tarStream = (
  entries: ReadonlyArray<ManifestEntry>,
  read: (path: string) => Stream.Stream<Uint8Array, WorkspaceError>
): Stream.Stream<Uint8Array, SyncError | WorkspaceError> =>
  Stream.unwrapScoped(Effect.gen(function* () {
    const pack = yield* Effect.acquireRelease(Effect.sync(() => makePack()), (p) => Effect.sync(() => p.destroy()))
    const produce = Effect.forEach(entries, (entry) => addEntry(pack, entry, read), { discard: true }).pipe(
      Effect.zipRight(Effect.sync(() => pack.finalize()))
    )
    // tar-stream yields Buffers, which are Uint8Arrays; its typings only say `unknown`.
    const archive = Stream.fromAsyncIterable(pack as AsyncIterable<Uint8Array>, (e) => tarFailure("archive", e))
    return Stream.merge(archive, Stream.drain(Stream.fromEffect(produce)))
  }))
