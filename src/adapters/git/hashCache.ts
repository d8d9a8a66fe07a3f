/**
 * Content hashes remembered between snapshots, keyed by path and trusted only while the
 * file's size, mtime, inode and mode are unchanged, so an unchanged file is never read
 * again. The cache is an optimization: a missing or corrupt file is an empty cache, and
 * a failed write only costs the next snapshot some hashing.
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Either, Random, Schema } from "effect"
import { dirname } from "node:path"

export const FileStamp = Schema.Struct({
  size: Schema.Number,
  mtimeMs: Schema.Number,
  ino: Schema.Number,
  mode: Schema.Number
})
export type FileStamp = typeof FileStamp.Type

const CachedHash = Schema.Struct({ ...FileStamp.fields, hash: Schema.String })
export type CachedHash = typeof CachedHash.Type

const HashCacheJson = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(1),
  entries: Schema.Record({ key: Schema.String, value: CachedHash })
}))

/**
 * Files modified this recently are not cached: a write landing in the same mtime tick
 * as our read would otherwise leave a stale hash that looks valid (git's "racy" case).
 */
export const racyWindowMs = 2_000

export const sameStamp = (a: FileStamp, b: FileStamp): boolean =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.mode === b.mode

export const loadHashCache = (
  fs: FileSystem.FileSystem,
  file: string
): Effect.Effect<ReadonlyMap<string, CachedHash>> =>
  fs.readFileString(file).pipe(
    Effect.map((text) => {
      const decoded = Schema.decodeUnknownEither(HashCacheJson)(text)
      return Either.isRight(decoded) ? new Map(Object.entries(decoded.right.entries)) : new Map<string, CachedHash>()
    }),
    Effect.orElseSucceed(() => new Map<string, CachedHash>())
  )

/** Write to a temp file beside the cache, then rename: readers see the old or the new cache, never half of one. */
export const saveHashCache = (
  fs: FileSystem.FileSystem,
  file: string,
  entries: ReadonlyMap<string, CachedHash>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const suffix = yield* Random.nextIntBetween(0, 2 ** 31)
    const temp = `${file}.${suffix.toString(36)}.tmp`
    const text = JSON.stringify({ version: 1, entries: Object.fromEntries(entries) })
    yield* fs.makeDirectory(dirname(file), { recursive: true })
    yield* fs.writeFileString(temp, text).pipe(
      Effect.zipRight(fs.rename(temp, file)),
      Effect.tapError(() => fs.remove(temp).pipe(Effect.ignore))
    )
  }).pipe(Effect.ignore)
