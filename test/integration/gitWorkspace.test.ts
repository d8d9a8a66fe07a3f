import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Stream } from "effect"
import { createHash } from "node:crypto"
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as GitWorkspace from "../../src/adapters/git/GitWorkspace.js"
import { Workspace } from "../../src/ports/Workspace.js"
import { git, write } from "../support/gitFiles.js"

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))

/** A repo with tracked, untracked, ignored and deleted files and symlinks in and out. */
const makeRepo = (root: string, outside: string) => {
  git(root, "init", "-q")
  write(root, ".gitignore", "*.log\nbuild/\n")
  write(root, "src/main.ts", "export {}\n")
  write(root, "dir with space/ünïcode file.txt", "hello\n")
  write(root, "bin/run.sh", "#!/bin/sh\necho hi\n")
  chmodSync(join(root, "bin/run.sh"), 0o755)
  write(root, "gone.txt", "to be deleted\n")
  write(root, "node_modules/pkg/index.js", "x")
  git(root, "add", "-A")
  git(root, "commit", "-q", "-m", "init")
  rmSync(join(root, "gone.txt"))
  write(root, "untracked.txt", "new\n")
  write(root, "debug.log", "ignored by .gitignore\n")
  write(root, "build/out.js", "ignored dir\n")
  write(root, "secret/key.pem", "ignored by .crabboxignore\n")
  write(root, ".crabboxignore", "# local only\nsecret/\n")
  write(root, ".crabbox/env/token", "never synced\n")
  write(outside, "target.txt", "outside the repo\n")
  symlinkSync("src/main.ts", join(root, "link-in"))
  symlinkSync("../outside/target.txt", join(root, "link-out"))
  symlinkSync(join(outside, "target.txt"), join(root, "link-abs"))
}

const provide = (root: string, cacheFile?: string) =>
  Effect.provide(GitWorkspace.layer(cacheFile === undefined ? { root } : { root, cacheFile }).pipe(Layer.provide(NodeContext.layer)))

const snapshot = (excludes: ReadonlyArray<string> = []) => Effect.flatMap(Workspace, (w) => w.snapshot({ excludes }))

describe("GitWorkspace", () => {
  it.scopedLive("lists tracked and untracked files minus ignored, excluded, deleted and escaping ones", () =>
    Effect.gen(function* () {
      const base = yield* tempDir("crabbox-git-")
      const root = join(base, "repo")
      mkdirSync(root)
      makeRepo(root, join(base, "outside"))
      const snap = yield* snapshot(["*.md"]).pipe(provide(root))
      assert.strictEqual(snap.root, root)
      const byPath = new Map(snap.manifest.entries.map((e) => [e.path, e]))
      assert.deepStrictEqual([...byPath.keys()], [
        ".crabboxignore", ".gitignore", "bin/run.sh", "dir with space/ünïcode file.txt", "link-in", "src/main.ts",
        "untracked.txt"
      ])
      assert.isTrue(byPath.get("bin/run.sh")!.executable)
      assert.isFalse(byPath.get("src/main.ts")!.executable)
      assert.strictEqual(byPath.get("src/main.ts")!.hash, sha256("export {}\n"))
      assert.strictEqual(byPath.get("src/main.ts")!.size, 10)
      assert.deepStrictEqual(byPath.get("link-in"), {
        path: "link-in", kind: "symlink", executable: false, size: 11, hash: sha256("src/main.ts"), target: "src/main.ts"
      })
      const skipped = new Map(snap.skipped.map((s) => [s.path, s.reason]))
      assert.include(skipped.get("link-out"), "outside the repository")
      assert.include(skipped.get("link-abs"), "outside the repository")
      assert.isFalse(skipped.has("gone.txt"))
    }))

  it.scopedLive("the hash cache spares unchanged files a read (same size and mtime: content not re-read)", () =>
    Effect.gen(function* () {
      const root = yield* tempDir("crabbox-git-")
      git(root, "init", "-q")
      write(root, "data.txt", "aaaa")
      // Old enough to be cached: files touched in the last seconds are always re-hashed.
      const past = new Date("2020-01-01T00:00:00Z")
      utimesSync(join(root, "data.txt"), past, past)
      const hashOf = Effect.map(snapshot(), (s) => s.manifest.entries.find((e) => e.path === "data.txt")!.hash)
      const first = yield* hashOf.pipe(provide(root))
      assert.strictEqual(first, sha256("aaaa"))
      const cacheFile = join(root, ".git", "crabbox", "hash-cache.json")
      assert.isTrue(existsSync(cacheFile))
      assert.property(JSON.parse(readFileSync(cacheFile, "utf8")).entries, "data.txt")

      writeFileSync(join(root, "data.txt"), "bbbb")
      utimesSync(join(root, "data.txt"), past, past)
      assert.strictEqual(yield* hashOf.pipe(provide(root)), first, "same stamp: the cached hash is trusted")

      const later = new Date("2021-01-01T00:00:00Z")
      utimesSync(join(root, "data.txt"), later, later)
      assert.strictEqual(yield* hashOf.pipe(provide(root)), sha256("bbbb"), "new mtime: re-hashed")
    }))

  it.scopedLive("a recently modified file is hashed but not cached", () =>
    Effect.gen(function* () {
      const root = yield* tempDir("crabbox-git-")
      git(root, "init", "-q")
      write(root, "fresh.txt", "x")
      const cacheFile = join(root, "cache.json")
      yield* snapshot().pipe(provide(root, cacheFile))
      assert.deepStrictEqual(JSON.parse(readFileSync(cacheFile, "utf8")).entries, {})
    }))

  it.scopedLive("read streams a file's bytes and refuses unsafe paths", () =>
    Effect.gen(function* () {
      const root = yield* tempDir("crabbox-git-")
      git(root, "init", "-q")
      write(root, "a/b.txt", "content of b")
      const text = yield* Effect.flatMap(Workspace, (w) => Stream.runCollect(w.read("a/b.txt"))).pipe(
        Effect.map((chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)).toString("utf8")),
        provide(root))
      assert.strictEqual(text, "content of b")
      const escaped = yield* Effect.flatMap(Workspace, (w) => Stream.runDrain(w.read("../etc/passwd"))).pipe(
        Effect.either, provide(root))
      assert.isTrue(Either.isLeft(escaped) && escaped.left._tag === "WorkspaceError")
    }))

  it.scopedLive("a directory that is not a git repository is refused with a clear error", () =>
    Effect.gen(function* () {
      const root = yield* tempDir("crabbox-nogit-")
      writeFileSync(join(root, "file.txt"), "x")
      const result = yield* snapshot().pipe(provide(root), Effect.either)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "WorkspaceError")
        assert.include(result.left.message, "not a git repository")
      }
    }))
})
