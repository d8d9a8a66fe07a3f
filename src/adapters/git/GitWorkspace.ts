/**
 * Workspace over a git checkout: the files git lists (tracked plus untracked files it
 * does not ignore), minus crabbox's excludes, hashed through a persistent hash cache.
 *
 * A directory that is not a git repository is refused rather than walked: without git
 * there is no ignore information, and a walk would ship build output and secrets that
 * `.gitignore` normally keeps out.
 *
 * The root is git's top level, even when `root` points inside the checkout.
 *
 * Symlinks are never followed: one whose target stays inside the repository is synced
 * as a link, any other is skipped and reported.
 */
import { Command, CommandExecutor, FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Clock, Effect, Either, identity, Layer, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from "node:fs"
import { type FileHandle, open } from "node:fs/promises"
import { join } from "node:path"
import { WorkspaceError } from "../../domain/errors.js"
import { makeExcludeMatcher, parseIgnoreFile, syncExcludeRules } from "../../domain/excludes.js"
import type { ManifestEntry } from "../../domain/manifest.js"
import { byPath } from "../../domain/manifestDiff.js"
import { isSafeRelativePath, symlinkStaysInside } from "../../domain/syncPaths.js"
import { Workspace } from "../../ports/Workspace.js"
import { type CachedHash, type FileStamp, loadHashCache, racyWindowMs, sameStamp, saveHashCache } from "./hashCache.js"

/*
 * File access below is node:fs, synchronous for metadata and for files smaller than a
 * chunk: a source tree is thousands of small files, and each async call is a round trip
 * through libuv's thread pool that costs several times the syscall itself (measured:
 * 5,000 files of 20 KB read in 50-90 ms synchronously, 800-900 ms through fs/promises,
 * and slower still through FileSystem's streams). Files of a chunk or more are read
 * asynchronously, a chunk at a time, so no single step blocks long or holds much memory.
 */

type Inspected =
  | { readonly _tag: "entry"; readonly entry: ManifestEntry; readonly cache?: CachedHash }
  | { readonly _tag: "skip"; readonly path: string; readonly reason: string }
  | { readonly _tag: "gone" }
  /** A regular file too big to hash in one synchronous read. */
  | { readonly _tag: "large"; readonly path: string; readonly stamp: FileStamp }

const gone: Inspected = { _tag: "gone" }

/** Missing, or a parent turned into a file: the path is simply not there any more. */
const goneCodes = new Set(["ENOENT", "ENOTDIR", "EISDIR", "ELOOP"])
const isGone = (e: unknown): boolean => goneCodes.has((e as NodeJS.ErrnoException | undefined)?.code ?? "")

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

/**
 * Files smaller than this are read whole, synchronously, as one chunk; larger ones
 * stream in chunks of this size.
 */
const chunkBytes = 1024 * 1024

/** How many large files are hashed at once. */
const largeHashConcurrency = 4

/**
 * The whole file if it is smaller than a chunk, else undefined. Reads one byte more
 * than `fstat` promised: getting it means the file grew, and it is treated as large.
 */
const readSmallSync = (file: string): Buffer | undefined => {
  const fd = openSync(file, "r")
  try {
    const size = fstatSync(fd).size
    if (size >= chunkBytes) return undefined
    const buffer = Buffer.allocUnsafe(size + 1)
    let filled = 0
    while (filled <= size) {
      const n = readSync(fd, buffer, filled, size + 1 - filled, null)
      if (n === 0) break
      filled += n
    }
    return filled <= size ? buffer.subarray(0, filled) : undefined
  } finally {
    closeSync(fd)
  }
}

/** Reads up to `limit` bytes from the handle's position: fewer only at the end of the file. */
const readUpTo = async (handle: FileHandle, limit: number): Promise<Buffer> => {
  const buffer = Buffer.allocUnsafe(limit)
  let filled = 0
  while (filled < limit) {
    const { bytesRead } = await handle.read(buffer, filled, limit - filled, null)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled === limit ? buffer : buffer.subarray(0, filled)
}

const hashLarge = async (file: string): Promise<string> => {
  const hash = createHash("sha256")
  const handle = await open(file, "r")
  try {
    for (let chunk = await readUpTo(handle, chunkBytes); chunk.byteLength > 0; chunk = await readUpTo(handle, chunkBytes)) {
      hash.update(chunk)
    }
  } finally {
    await handle.close()
  }
  return hash.digest("hex")
}

/** The names @effect/platform gives file types, for the skip reason. */
const typeName = (info: Stats): string =>
  info.isDirectory()
    ? "Directory"
    : info.isFIFO()
    ? "FIFO"
    : info.isSocket()
    ? "Socket"
    : info.isBlockDevice()
    ? "BlockDevice"
    : info.isCharacterDevice()
    ? "CharacterDevice"
    : "Unknown"

const fileEntry = (path: string, stamp: FileStamp, hash: string, now: number): Inspected => {
  const entry: ManifestEntry = { path, kind: "file", executable: (stamp.mode & 0o111) !== 0, size: stamp.size, hash }
  return stamp.mtimeMs > now - racyWindowMs ? { _tag: "entry", entry } : { _tag: "entry", entry, cache: { ...stamp, hash } }
}

/**
 * One `lstat` per path (never following a symlink), a `readlink` for links, and a read
 * only when the hash cache cannot vouch for the content.
 */
const inspectSync = (root: string, path: string, cache: ReadonlyMap<string, CachedHash>, now: number): Inspected => {
  const file = join(root, path)
  const info = lstatSync(file)
  if (info.isSymbolicLink()) {
    const target = readlinkSync(file, "utf8")
    if (!symlinkStaysInside(path, target)) {
      return { _tag: "skip", path, reason: `symlink points outside the repository (${target})` }
    }
    const size = Buffer.byteLength(target, "utf8")
    return { _tag: "entry", entry: { path, kind: "symlink", executable: false, size, hash: sha256(target), target } }
  }
  if (!info.isFile()) return { _tag: "skip", path, reason: `not a regular file (${typeName(info)})` }
  // Whole milliseconds, as the cache has always stored them.
  const stamp: FileStamp = { size: info.size, mtimeMs: Math.trunc(info.mtimeMs), ino: info.ino, mode: info.mode }
  const cached = cache.get(path)
  if (cached !== undefined && sameStamp(cached, stamp)) return fileEntry(path, stamp, cached.hash, now)
  const whole = stamp.size < chunkBytes ? readSmallSync(file) : undefined
  return whole === undefined ? { _tag: "large", path, stamp } : fileEntry(path, stamp, sha256(whole), now)
}

const runGit = (executor: CommandExecutor.CommandExecutor, cwd: string, args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function* () {
    const proc = yield* executor.start(Command.make("git", ...args).pipe(Command.workingDirectory(cwd)))
    const collect = (s: Stream.Stream<Uint8Array, PlatformError>) =>
      Stream.runCollect(s).pipe(Effect.map((c) => Buffer.concat(Chunk.toReadonlyArray(c))))
    const [stdout, stderr, code] = yield* Effect.all([collect(proc.stdout), collect(proc.stderr), proc.exitCode], {
      concurrency: "unbounded"
    })
    return { stdout, stderr: stderr.toString("utf8").trim(), code }
  })).pipe(
    Effect.mapError((e) => new WorkspaceError({ message: `cannot run git ${args[0]}: ${e.message}`, path: cwd }))
  )

const make = (options: { readonly root: string; readonly cacheFile?: string }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const executor = yield* CommandExecutor.CommandExecutor
    const gitText = (args: ReadonlyArray<string>, failure: (stderr: string) => string) =>
      runGit(executor, options.root, args).pipe(Effect.flatMap(({ code, stderr, stdout }) =>
        code === 0
          ? Effect.succeed(stdout.toString("utf8"))
          : Effect.fail(new WorkspaceError({ message: failure(stderr), path: options.root }))))

    const notARepo = (stderr: string) =>
      `not a git repository: ${options.root} (crabbox syncs what git lists: tracked files plus untracked ` +
      `files git does not ignore; run \`git init\` there first)${stderr ? `: ${stderr}` : ""}`
    const root = (yield* gitText(["rev-parse", "--show-toplevel"], notARepo)).trim()
    const cacheFile = options.cacheFile ??
      join((yield* gitText(["rev-parse", "--absolute-git-dir"], notARepo)).trim(), "crabbox", "hash-cache.json")

    const readError = (path: string) => (e: PlatformError) =>
      new WorkspaceError({ message: `cannot read ${path}: ${e.message}`, path })
    const nodeError = (path: string) => (e: unknown) =>
      new WorkspaceError({ message: `cannot read ${path}: ${messageOf(e)}`, path })

    /** Node's errors as the workspace's: a path that went away is `gone`, anything else a failure. */
    const settle = (path: string) => (e: unknown) => isGone(e) ? Effect.succeed(gone) : Effect.fail(nodeError(path)(e))

    const inspect = (path: string, cache: ReadonlyMap<string, CachedHash>, now: number) =>
      Effect.try({ try: () => inspectSync(root, path, cache, now), catch: identity }).pipe(
        Effect.catchAll(settle(path))
      )

    const hashLargeFile = (path: string, stamp: FileStamp, now: number) =>
      Effect.tryPromise({ try: () => hashLarge(join(root, path)), catch: identity }).pipe(
        Effect.map((hash) => fileEntry(path, stamp, hash, now)),
        Effect.catchAll(settle(path))
      )

    const ignoreFileLines = fs.readFileString(join(root, ".crabboxignore")).pipe(
      Effect.map(parseIgnoreFile),
      Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.succeed([])),
      Effect.mapError(readError(".crabboxignore"))
    )

    const snapshot = (request: { readonly excludes: ReadonlyArray<string> }) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const listing = yield* gitText(
          ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
          (stderr) => `git ls-files failed in ${root}: ${stderr}`
        )
        const excluded = makeExcludeMatcher(syncExcludeRules(request.excludes, yield* ignoreFileLines))
        const skipped: Array<{ path: string; reason: string }> = []
        const candidates: Array<string> = []
        // --cached lists a path once per merge stage, hence the Set.
        for (const path of new Set(listing.split("\0").filter((p) => p.length > 0))) {
          if (path.includes("\uFFFD")) skipped.push({ path, reason: "name is not valid UTF-8" })
          else if (!isSafeRelativePath(path)) skipped.push({ path, reason: "unsafe path" })
          else if (!excluded(path)) candidates.push(path)
        }
        const cache = yield* loadHashCache(fs, cacheFile)
        // Metadata and small files first, one at a time (synchronous: see the top of the
        // file); then the large files, a few at a time.
        const inspected = yield* Effect.forEach(candidates, (p) => inspect(p, cache, now)).pipe(
          Effect.flatMap(Effect.forEach(
            (item) => item._tag === "large" ? hashLargeFile(item.path, item.stamp, now) : Effect.succeed(item),
            { concurrency: largeHashConcurrency }
          ))
        )
        const entries: Array<ManifestEntry> = []
        const nextCache = new Map<string, CachedHash>()
        for (const item of inspected) {
          if (item._tag === "skip") skipped.push({ path: item.path, reason: item.reason })
          if (item._tag !== "entry") continue
          entries.push(item.entry)
          if (item.cache !== undefined) nextCache.set(item.entry.path, item.cache)
        }
        yield* saveHashCache(fs, cacheFile, nextCache)
        return { root, manifest: { version: 1, entries: entries.sort(byPath) }, skipped } as const
      })

    /** Streams the file in chunks, holding its handle only while the stream runs. */
    const readChunked = (path: string): Stream.Stream<Uint8Array, WorkspaceError> =>
      Stream.unwrapScoped(Effect.map(
        Effect.acquireRelease(
          Effect.tryPromise({ try: () => open(join(root, path), "r"), catch: nodeError(path) }),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        ),
        (handle) =>
          Stream.repeatEffectOption(
            Effect.tryPromise({ try: () => readUpTo(handle, chunkBytes), catch: (e) => Option.some(nodeError(path)(e)) })
              .pipe(Effect.filterOrFail((chunk) => chunk.byteLength > 0, () => Option.none()))
          )
      ))

    /** A file smaller than a chunk (most of a source tree) comes out as one chunk. */
    const readFile = (path: string): Stream.Stream<Uint8Array, WorkspaceError> =>
      Stream.suspend(() =>
        Either.match(Either.try({ try: () => readSmallSync(join(root, path)), catch: nodeError(path) }), {
          onLeft: Stream.fail,
          onRight: (whole) =>
            whole === undefined ? readChunked(path) : whole.byteLength === 0 ? Stream.empty : Stream.succeed(whole)
        })
      )

    const read = (path: string): Stream.Stream<Uint8Array, WorkspaceError> =>
      isSafeRelativePath(path)
        ? readFile(path)
        : Stream.fail(new WorkspaceError({ message: `refusing to read unsafe path ${JSON.stringify(path)}`, path }))

    return Workspace.of({ root, snapshot, read })
  })

export const layer = (options: {
  readonly root: string
  readonly cacheFile?: string
}): Layer.Layer<Workspace, WorkspaceError, CommandExecutor.CommandExecutor | FileSystem.FileSystem> =>
  Layer.effect(Workspace, make(options))
