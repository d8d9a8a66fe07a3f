/**
 * The upload as a tar stream, produced lazily: file bytes flow from `Workspace.read`
 * through tar-stream's `pack` one entry at a time, with backpressure end to end, so a
 * multi-GB tree never sits in memory. Names that do not fit ustar (long or non-ASCII)
 * get pax headers from tar-stream; modes are normalized to 0755/0644.
 *
 * The cost is per entry and per chunk, hardly per byte, so both are kept few: every
 * entry's bytes come through one stream (a stream run per file costs more than reading
 * a small file), and the archive leaves in batches of up to `batchBytes` rather than as
 * tar-stream's separate headers, bodies and paddings, each of which would otherwise
 * become its own SSH packet. Measured on 5,000 files of 20 KB: 13 s to drain the old
 * per-entry pipeline, under 1 s for this one.
 */
import { Deferred, Effect, Exit, Option, Stream } from "effect"
import type { Header, Pack } from "tar-stream"
import { pack as makePack } from "tar-stream"
import { SyncError, type WorkspaceError } from "../../domain/errors.js"
import type { ManifestEntry } from "../../domain/manifest.js"

/** Fixed, because the remote extracts with `-m` (extraction time) and a stable archive is easier to debug. */
const epoch = new Date(0)

/**
 * Largest chunk handed downstream, and what the pack buffers before it holds writers
 * back: big enough that an SSH write is a run of full packets, small enough to stay a
 * rounding error in memory.
 */
const batchBytes = 256 * 1024

type EntrySink = ReturnType<Pack["entry"]>

const headerOf = (entry: ManifestEntry): Partial<Header> & Pick<Header, "name"> =>
  entry.kind === "symlink"
    ? { name: entry.path, type: "symlink", linkname: entry.target ?? "", mode: 0o777, mtime: epoch }
    : { name: entry.path, type: "file", size: entry.size, mode: entry.executable ? 0o755 : 0o644, mtime: epoch }

const tarFailure = (path: string, cause: unknown) =>
  new SyncError({ message: `tar stream failed at ${path}: ${cause instanceof Error ? cause.message : String(cause)}` })

const changedWhileSyncing = (path: string) =>
  new SyncError({ message: `${path} changed size while syncing; run the sync again` })

/** Write one chunk; only when tar-stream asks us to wait does this suspend until "drain". */
const writeChunk = (path: string, sink: EntrySink, chunk: Uint8Array) =>
  Effect.suspend(() =>
    sink.write(chunk) ? Effect.void : Effect.async<void, SyncError>((resume) => {
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
  )

/** Marks the end of one entry's bytes in the stream that feeds the pack. */
const endOfEntry = Symbol("endOfEntry")
type Item = Uint8Array | typeof endOfEntry
const closeEntry: Stream.Stream<Item> = Stream.succeed(endOfEntry)

/** The entry being written: its sink, what it has taken so far, and its completion. */
interface Open {
  readonly sink: EntrySink
  readonly written: number
  readonly finished: Effect.Effect<void, SyncError>
}

/** Where the producer stands: `entries[index]` is the entry the next item belongs to. */
interface Cursor {
  readonly index: number
  readonly open: Open | undefined
}

const startEntry = (pack: Pack, entry: ManifestEntry) =>
  Effect.map(Deferred.make<void, SyncError>(), (done): Open => ({
    sink: pack.entry(headerOf(entry), (err) => {
      Deferred.unsafeDone(done, err ? Exit.fail(tarFailure(entry.path, err)) : Exit.void)
    }),
    written: 0,
    finished: Deferred.await(done)
  }))

/**
 * Feeds one item to the pack. Bytes go to the entry at the cursor (started on its first
 * item); `endOfEntry` ends it and waits until tar-stream has taken all of it, which is
 * what keeps at most one entry in flight.
 */
const feed = (pack: Pack, entries: ReadonlyArray<ManifestEntry>) => (cursor: Cursor, item: Item) =>
  Effect.gen(function* () {
    const entry = entries[cursor.index]!
    const open = cursor.open ?? (yield* startEntry(pack, entry))
    if (item === endOfEntry) {
      if (entry.kind === "file") {
        // The header already promised `size` bytes; a file that grew or shrank since the
        // snapshot would corrupt the archive, so stop instead.
        if (open.written !== entry.size) return yield* changedWhileSyncing(entry.path)
        open.sink.end(undefined)
      }
      yield* open.finished
      return { index: cursor.index + 1, open: undefined }
    }
    const written = open.written + item.byteLength
    if (written > entry.size) return yield* changedWhileSyncing(entry.path)
    yield* writeChunk(entry.path, open.sink, item)
    return { index: cursor.index, open: { ...open, written } }
  })

/**
 * Every entry's bytes, each followed by `endOfEntry`, as one stream: a stream per entry
 * run on its own costs more than reading a small file does.
 */
const items = (
  entries: ReadonlyArray<ManifestEntry>,
  read: (path: string) => Stream.Stream<Uint8Array, WorkspaceError>
): Stream.Stream<Item, WorkspaceError> =>
  Stream.flatMap(Stream.fromIterable(entries), (entry) =>
    entry.kind === "file" ? Stream.concat(read(entry.path), closeEntry) : closeEntry)

/** How the pack's output ended, as its events told; written only by the listeners set up with the pack. */
interface PackOutput {
  ended: boolean
  error: Option.Option<unknown>
}

/**
 * Take what the pack holds, up to `batchBytes`, as one chunk, waiting when it holds
 * nothing yet. Reading is what lets the entry being written continue.
 */
const pullBatch = (pack: Pack, output: PackOutput): Effect.Effect<Uint8Array, Option.Option<SyncError>> =>
  Effect.async((resume) => {
    const take = (): boolean => {
      const parts: Array<Uint8Array> = []
      let size = 0
      for (let part: Uint8Array | null; size < batchBytes && (part = pack.read() as Uint8Array | null) !== null;) {
        parts.push(part)
        size += part.byteLength
      }
      if (parts.length > 0) resume(Effect.succeed(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)))
      else if (Option.isSome(output.error)) resume(Effect.fail(Option.some(tarFailure("archive", output.error.value))))
      else if (output.ended) resume(Effect.fail(Option.none()))
      else return false
      return true
    }
    if (take()) return
    const events = ["readable", "end", "error", "close"] as const
    const onEvent = () => {
      if (take()) cleanup()
    }
    const cleanup = () => {
      for (const event of events) pack.off(event, onEvent)
    }
    for (const event of events) pack.on(event, onEvent)
    return Effect.sync(cleanup)
  })

/** A tar archive of `entries` (files and symlinks), read through `read`. */
export const tarStream = (
  entries: ReadonlyArray<ManifestEntry>,
  read: (path: string) => Stream.Stream<Uint8Array, WorkspaceError>
): Stream.Stream<Uint8Array, SyncError | WorkspaceError> =>
  Stream.unwrapScoped(Effect.gen(function* () {
    const output: PackOutput = { ended: false, error: Option.none() }
    const pack = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pack = makePack({ highWaterMark: batchBytes })
        // Listeners first: an "error" nobody hears would crash the process.
        pack.on("error", (err: unknown) => {
          output.error = Option.some(err)
        })
        pack.once("end", () => {
          output.ended = true
        })
        pack.once("close", () => {
          if (!output.ended && Option.isNone(output.error)) output.error = Option.some("archive closed")
        })
        return pack
      }),
      (p) => Effect.sync(() => p.destroy())
    )
    const produce = Stream.runFoldEffect(items(entries, read), { index: 0, open: undefined }, feed(pack, entries)).pipe(
      Effect.zipRight(Effect.sync(() => pack.finalize()))
    )
    const archive = Stream.repeatEffectOption(pullBatch(pack, output))
    return Stream.merge(archive, Stream.drain(Stream.fromEffect(produce)))
  }))
