/**
 * Durable, atomic file writes: a reader (or a crash) sees the old file or the new one,
 * never a torn one. The data goes to `.<name>.tmp-<random>` in the same directory (so the
 * rename stays on one file system), is fsynced, then renamed over the target; the
 * directory is fsynced so the rename itself survives a power loss. Directories created on
 * the way are 0700 and their parents fsynced, so a fresh state dir is durable too.
 */
import type { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Random } from "effect"
import { basename, dirname, join } from "node:path"

export interface AtomicWriteOptions {
  /** File mode, applied with chmod so the umask cannot widen or narrow it. Default 0600. */
  readonly mode?: number
  /**
   * Publish only if the target does not exist yet (a hard link, which fails on an existing
   * name, instead of a rename, which replaces it). Concurrent writers then agree on one
   * winner without a lock.
   */
  readonly exclusive?: boolean
}

/** The temp-file prefix for `name`; listings skip names starting with ".". */
export const isTempName = (name: string): boolean => name.startsWith(".") && name.includes(".tmp-")

const alreadyExists = (e: PlatformError): boolean => e._tag === "SystemError" && e.reason === "AlreadyExists"

/** fsync a directory, so entries created, renamed or removed in it are durable. */
export const syncDirectory = (fs: FileSystem.FileSystem, dir: string): Effect.Effect<void, PlatformError> =>
  Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) => handle.sync))

/**
 * Create `dir` and any missing parents with mode 0700, fsyncing each created directory's
 * parent. Existing directories are left as they are (they may be the user's).
 */
export const ensureDirectory = (fs: FileSystem.FileSystem, dir: string): Effect.Effect<void, PlatformError> =>
  Effect.gen(function* () {
    if (yield* fs.exists(dir)) return
    const parent = dirname(dir)
    if (parent !== dir) yield* ensureDirectory(fs, parent)
    // Another process may create it between our check and mkdir: that is fine.
    yield* fs.makeDirectory(dir, { mode: 0o700 }).pipe(Effect.catchIf(alreadyExists, () => Effect.void))
    yield* syncDirectory(fs, parent)
  })

const tempSuffix = Effect.map(
  Effect.all([Random.nextIntBetween(0, 0x7fffffff), Random.nextIntBetween(0, 0x7fffffff)]),
  ([a, b]) => `${a.toString(36)}${b.toString(36)}`
)

const writeSynced = (fs: FileSystem.FileSystem, path: string, bytes: Uint8Array, mode: number) =>
  Effect.scoped(Effect.gen(function* () {
    // "wx": never write through a name someone else created (or a planted symlink).
    const handle = yield* fs.open(path, { flag: "wx", mode })
    yield* fs.chmod(path, mode)
    // writeAll fails with WriteZero on an empty buffer, and an empty file needs no write.
    if (bytes.length > 0) yield* handle.writeAll(bytes)
    yield* handle.sync
  }))

/**
 * Write `data` to `path` atomically and durably. Succeeds with `true` when the file was
 * written, `false` when `exclusive` was asked and the target already existed.
 */
export const atomicWrite = (
  fs: FileSystem.FileSystem,
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {}
): Effect.Effect<boolean, PlatformError> =>
  Effect.gen(function* () {
    const dir = dirname(path)
    yield* ensureDirectory(fs, dir)
    const temp = join(dir, `.${basename(path)}.tmp-${yield* tempSuffix}`)
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data
    const published = Effect.gen(function* () {
      yield* writeSynced(fs, temp, bytes, options.mode ?? 0o600)
      if (options.exclusive !== true) {
        yield* fs.rename(temp, path)
        return true
      }
      return yield* fs.link(temp, path).pipe(
        Effect.as(true),
        Effect.catchIf(alreadyExists, () => Effect.succeed(false))
      )
    })
    // The temp file must not outlive a failure or an interrupt; after a rename it is
    // already gone, after a link it is a second name we drop.
    const written = yield* published.pipe(Effect.ensuring(Effect.ignore(fs.remove(temp, { force: true }))))
    yield* syncDirectory(fs, dir)
    return written
  })

/**
 * Remove a file or a whole directory (absent is fine) and make the removal durable.
 * A missing parent means there was nothing to remove, so there is nothing to sync.
 */
export const removeDurably = (fs: FileSystem.FileSystem, path: string): Effect.Effect<void, PlatformError> =>
  fs.remove(path, { recursive: true, force: true }).pipe(
    Effect.zipRight(syncDirectory(fs, dirname(path))),
    Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.void)
  )
