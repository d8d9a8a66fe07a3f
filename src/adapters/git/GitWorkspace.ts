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
import { Chunk, Clock, Effect, Layer, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import { join } from "node:path"
import { WorkspaceError } from "../../domain/errors.js"
import { makeExcludeMatcher, parseIgnoreFile, syncExcludeRules } from "../../domain/excludes.js"
import type { ManifestEntry } from "../../domain/manifest.js"
import { byPath } from "../../domain/manifestDiff.js"
import { isSafeRelativePath, symlinkStaysInside } from "../../domain/syncPaths.js"
import { Workspace } from "../../ports/Workspace.js"
import { type CachedHash, type FileStamp, loadHashCache, racyWindowMs, sameStamp, saveHashCache } from "./hashCache.js"

type Inspected =
  | { readonly _tag: "entry"; readonly entry: ManifestEntry; readonly cache?: CachedHash }
  | { readonly _tag: "skip"; readonly path: string; readonly reason: string }
  | { readonly _tag: "gone" }

const gone: Inspected = { _tag: "gone" }

/** Missing, or a parent turned into a file: the path is simply not there any more. */
const isGone = (e: PlatformError | WorkspaceError): boolean =>
  e._tag === "SystemError" && (e.reason === "NotFound" || e.reason === "BadResource")

const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

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

    const hashFile = (path: string) =>
      Stream.runFold(fs.stream(join(root, path)), createHash("sha256"), (h, chunk) => h.update(chunk)).pipe(
        Effect.map((h) => h.digest("hex")),
        Effect.mapError(readError(path))
      )

    const inspectFile = (path: string, cache: ReadonlyMap<string, CachedHash>, now: number) =>
      Effect.gen(function* () {
        const info = yield* fs.stat(join(root, path))
        if (info.type !== "File") return { _tag: "skip", path, reason: `not a regular file (${info.type})` } as const
        const stamp: FileStamp = {
          size: Number(info.size),
          mtimeMs: Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() }),
          ino: Option.getOrElse(info.ino, () => 0),
          mode: info.mode
        }
        const cached = cache.get(path)
        const hash = cached !== undefined && sameStamp(cached, stamp) ? cached.hash : yield* hashFile(path)
        const entry: ManifestEntry = {
          path, kind: "file", executable: (info.mode & 0o111) !== 0, size: stamp.size, hash
        }
        return stamp.mtimeMs > now - racyWindowMs
          ? { _tag: "entry", entry } as const
          : { _tag: "entry", entry, cache: { ...stamp, hash } } as const
      }).pipe(Effect.catchIf(isGone, () => Effect.succeed(gone)))

    // No lstat in FileSystem: readLink succeeds only on a symlink, so it doubles as one.
    const inspect = (path: string, cache: ReadonlyMap<string, CachedHash>, now: number) =>
      fs.readLink(join(root, path)).pipe(
        Effect.map((target): Inspected => {
          if (!symlinkStaysInside(path, target)) {
            return { _tag: "skip", path, reason: `symlink points outside the repository (${target})` }
          }
          const size = new TextEncoder().encode(target).byteLength
          return { _tag: "entry", entry: { path, kind: "symlink", executable: false, size, hash: sha256(target), target } }
        }),
        Effect.catchAll((e): Effect.Effect<Inspected, WorkspaceError | PlatformError> =>
          e._tag === "SystemError" && e.reason === "NotFound" ? Effect.succeed(gone) : inspectFile(path, cache, now)),
        Effect.mapError((e) => (e instanceof WorkspaceError ? e : readError(path)(e)))
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
        const inspected = yield* Effect.forEach(candidates, (p) => inspect(p, cache, now), { concurrency: 32 })
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

    const read = (path: string): Stream.Stream<Uint8Array, WorkspaceError> =>
      isSafeRelativePath(path)
        ? fs.stream(join(root, path)).pipe(Stream.mapError(readError(path)))
        : Stream.fail(new WorkspaceError({ message: `refusing to read unsafe path ${JSON.stringify(path)}`, path }))

    return Workspace.of({ root, snapshot, read })
  })

export const layer = (options: {
  readonly root: string
  readonly cacheFile?: string
}): Layer.Layer<Workspace, WorkspaceError, CommandExecutor.CommandExecutor | FileSystem.FileSystem> =>
  Layer.effect(Workspace, make(options))
