import { NodeContext } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted, Ref } from "effect"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import {
  chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
  symlinkSync, writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as GitWorkspace from "../../src/adapters/git/GitWorkspace.js"
import * as MemorySshTransport from "../../src/adapters/memory/MemorySshTransport.js"
import * as MemoryWorkspace from "../../src/adapters/memory/MemoryWorkspace.js"
import * as Ssh2Transport from "../../src/adapters/ssh2/Ssh2Transport.js"
import { syncWorkspace, type SyncOptions } from "../../src/app/sync/syncWorkspace.js"
import type { SshSession } from "../../src/ports/SshTransport.js"
import { SshTransport } from "../../src/ports/SshTransport.js"
import { startSshd, type TestSshd } from "../support/sshd.js"
import { git, write } from "../support/gitFiles.js"

type RemoteNode = { kind: "file"; mode: number; content: string } | { kind: "symlink"; target: string }

/** sshd runs as this user on this machine, so the remote workdir can be read straight from disk. */
const remoteTree = (workdir: string): Map<string, RemoteNode> => {
  const out = new Map<string, RemoteNode>()
  const walk = (rel: string) => {
    for (const name of readdirSync(join(workdir, rel))) {
      const path = rel ? `${rel}/${name}` : name
      if (path === ".git") continue
      const stat = lstatSync(join(workdir, path))
      if (stat.isSymbolicLink()) out.set(path, { kind: "symlink", target: readlinkSync(join(workdir, path)) })
      else if (stat.isDirectory()) walk(path)
      else out.set(path, { kind: "file", mode: stat.mode & 0o777, content: readFileSync(join(workdir, path), "latin1") })
    }
  }
  if (existsSync(workdir)) walk("")
  return out
}

const longName = `${"deep/".repeat(30)}${"n".repeat(120)}.txt`

interface Fixture {
  readonly repo: string
  readonly outside: string
  readonly workdir: string
  readonly metaDir: string
  readonly lines: Ref.Ref<ReadonlyArray<string>>
  readonly execs: Ref.Ref<number>
  readonly options: (overrides?: Partial<SyncOptions>) => SyncOptions
}

describe("syncWorkspace against a real sshd", () => {
  let sshd: TestSshd
  beforeAll(async () => { sshd = await startSshd() })
  afterAll(async () => { await sshd?.stop() })

  /** A temp repo, a remote workdir beside it, and a session that counts its execs. */
  const fixture = Effect.gen(function* () {
    const base = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "crabbox-sync-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
    const repo = join(base, "repo")
    const outside = join(base, "outside")
    mkdirSync(repo)
    git(repo, "init", "-q")
    write(repo, ".gitignore", "*.log\n")
    write(repo, ".crabboxignore", "private/\n")
    write(repo, "src/main.ts", "export const main = 1\n")
    write(repo, "src/nested/deeper/util.ts", "export {}\n")
    write(repo, "dir with space/ünïcödé name.txt", "unicode\n")
    write(repo, "bin/run.sh", "#!/bin/sh\necho hi\n")
    chmodSync(join(repo, "bin/run.sh"), 0o755)
    write(repo, "old/only.txt", "will be deleted\n")
    write(repo, longName, "long path\n")
    write(repo, "big.bin", randomBytes(3 * 1024 * 1024 + 17))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    write(repo, "untracked.txt", "untracked but not ignored\n")
    write(repo, "debug.log", "ignored by .gitignore\n")
    write(repo, "private/key.pem", "ignored by .crabboxignore\n")
    write(outside, "secret.txt", "OUTSIDE-SECRET-CONTENT\n")
    symlinkSync("src/main.ts", join(repo, "link-in"))
    symlinkSync("../outside/secret.txt", join(repo, "link-out"))
    const workdir = join(base, "remote", "work")
    const metaDir = join(workdir, ".git", "crabbox")
    const lines = yield* Ref.make<ReadonlyArray<string>>([])
    const execs = yield* Ref.make(0)
    const options = (overrides: Partial<SyncOptions> = {}): SyncOptions => ({
      workdir, metaDir, excludes: [], forceLarge: false, fullResync: false,
      onProgress: (line) => Ref.update(lines, (all) => [...all, line]),
      ...overrides
    })
    return { repo, outside, workdir, metaDir, lines, execs, options } satisfies Fixture
  })

  const connect = (execs: Ref.Ref<number>) => Effect.gen(function* () {
    const ssh = yield* SshTransport
    const session = yield* ssh.connect({
      host: sshd.host, port: sshd.port, user: sshd.user,
      privateKey: Redacted.make(sshd.clientKey.privateKey), connectTimeoutMs: 10_000
    })
    return { ...session, exec: (r) => Effect.zipRight(Ref.update(execs, (n) => n + 1), session.exec(r)) } satisfies SshSession
  })

  /** Sync `f.repo` over a fresh SSH session, counting execs from zero. */
  const sync = (f: Fixture, overrides?: Partial<SyncOptions>) =>
    Effect.scoped(Effect.gen(function* () {
      yield* Ref.set(f.execs, 0)
      yield* Ref.set(f.lines, [])
      const session = yield* connect(f.execs)
      return yield* syncWorkspace(session, f.options(overrides))
    })).pipe(
      Effect.provide(Layer.mergeAll(
        Ssh2Transport.layer,
        GitWorkspace.layer({ root: f.repo }).pipe(Layer.provide(NodeContext.layer))
      ))
    )

  const assertMirrors = (f: Fixture) => {
    const remote = remoteTree(f.workdir)
    const local = new Map(execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: f.repo })
      .toString("utf8").split("\0").filter((p) => p && existsSync(join(f.repo, p)) && p !== "link-out" &&
        !p.startsWith("private/")).map((p) => [p, lstatSync(join(f.repo, p))] as const))
    assert.deepStrictEqual([...remote.keys()].sort(), [...local.keys()].sort())
    for (const [path, node] of remote) {
      const stat = local.get(path)!
      if (node.kind === "symlink") assert.strictEqual(node.target, readlinkSync(join(f.repo, path)), path)
      else {
        assert.strictEqual(node.content, readFileSync(join(f.repo, path), "latin1"), path)
        assert.strictEqual(node.mode, stat.mode & 0o111 ? 0o755 : 0o644, path)
      }
    }
  }

  it.scopedLive("the first sync mirrors the tree: names, exec bits, symlinks; ignored and outside files stay home", () =>
    Effect.gen(function* () {
      const f = yield* fixture
      const result = yield* sync(f)
      assert.isFalse(result.skipped)
      assert.strictEqual(result.files, 11)
      assert.strictEqual(result.uploadedFiles, 11)
      assert.strictEqual(result.removedFiles, 0)
      assert.strictEqual(yield* Ref.get(f.execs), 2, "probe + upload")
      assertMirrors(f)
      const remote = remoteTree(f.workdir)
      assert.deepStrictEqual(remote.get("bin/run.sh"), { kind: "file", mode: 0o755, content: "#!/bin/sh\necho hi\n" })
      assert.deepStrictEqual(remote.get("link-in"), { kind: "symlink", target: "src/main.ts" })
      for (const absent of ["debug.log", "private/key.pem", "link-out"]) assert.isFalse(remote.has(absent), absent)
      assert.isFalse([...remote.values()].some((n) => n.kind === "file" && n.content.includes("OUTSIDE-SECRET")))
      assert.strictEqual(readFileSync(join(f.metaDir, "fingerprint"), "utf8").trim(), result.fingerprint)
      const lines = yield* Ref.get(f.lines)
      assert.isTrue(lines.some((l) => l.startsWith("sync: skipping link-out: symlink points outside")))
      assert.isTrue(lines.some((l) => l.startsWith("sync candidate: 11 files, 3.0 MiB")))
      assert.include(lines, "sync: uploading 11 files (3.0 MiB), removing 0")
    }))

  it.scopedLive("an unchanged tree costs one exec and transfers nothing", () =>
    Effect.gen(function* () {
      const f = yield* fixture
      const first = yield* sync(f)
      const second = yield* sync(f)
      assert.isTrue(second.skipped)
      assert.strictEqual(second.uploadedFiles, 0)
      assert.strictEqual(second.fingerprint, first.fingerprint)
      assert.strictEqual(yield* Ref.get(f.execs), 1)
      assert.include(yield* Ref.get(f.lines), "No changes detected, skipping sync")
    }))

  it.scopedLive("changes travel as a diff: deleted files go, emptied directories are pruned, a file may become a directory",
    () => Effect.gen(function* () {
      const f = yield* fixture
      yield* sync(f)
      rmSync(join(f.repo, "old"), { recursive: true })
      write(f.repo, "src/main.ts", "export const main = 2\n")
      rmSync(join(f.repo, "untracked.txt"))
      write(f.repo, "untracked.txt/now-a-dir.txt", "was a file\n")
      chmodSync(join(f.repo, "bin/run.sh"), 0o644)
      const result = yield* sync(f)
      assert.strictEqual(result.uploadedFiles, 3)
      assert.strictEqual(result.removedFiles, 2)
      assert.strictEqual(yield* Ref.get(f.execs), 2)
      assertMirrors(f)
      assert.isFalse(existsSync(join(f.workdir, "old")), "the emptied directory is pruned")
      assert.isTrue(existsSync(join(f.workdir, "src/nested/deeper")))
      assert.isTrue((yield* sync(f)).skipped)
    }))

  it.scopedLive("a remote manifest naming a path outside the workdir is refused, and nothing is deleted", () =>
    Effect.gen(function* () {
      const f = yield* fixture
      yield* sync(f)
      write(f.outside, "victim.txt", "keep me\n")
      const manifest = JSON.parse(readFileSync(join(f.metaDir, "manifest.json"), "utf8"))
      manifest.entries.push({ path: "../../outside/victim.txt", kind: "file", executable: false, size: 1, hash: "x" })
      writeFileSync(join(f.metaDir, "manifest.json"), JSON.stringify(manifest))
      rmSync(join(f.metaDir, "fingerprint"))
      const result = yield* Effect.either(sync(f))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "SyncError")
      if (Either.isLeft(result)) assert.include(result.left.message, "unsafe path")
      assert.strictEqual(readFileSync(join(f.outside, "victim.txt"), "utf8"), "keep me\n")
    }))

  it.scopedLive("deletes never follow a symlinked directory on the box out of the workdir", () =>
    Effect.gen(function* () {
      const f = yield* fixture
      yield* sync(f)
      // Something on the box replaced a synced directory with a link to elsewhere.
      write(f.outside, "only.txt", "must survive\n")
      rmSync(join(f.workdir, "old"), { recursive: true })
      symlinkSync(f.outside, join(f.workdir, "old"))
      rmSync(join(f.repo, "old"), { recursive: true })
      yield* sync(f)
      assert.strictEqual(readFileSync(join(f.outside, "only.txt"), "utf8"), "must survive\n")
    }))

  it.scopedLive("a failed upload leaves no fingerprint, and the next sync finishes the job", () =>
    Effect.gen(function* () {
      const f = yield* fixture
      yield* sync(f)
      write(f.repo, "blocked.txt", "new file\n")
      write(f.repo, "src/main.ts", "export const main = 3\n")
      // A non-empty directory where a file must go makes tar fail.
      write(f.workdir, "blocked.txt/inner", "in the way\n")
      const failed = yield* Effect.either(sync(f))
      assert.isTrue(Either.isLeft(failed) && failed.left._tag === "SyncError")
      if (Either.isLeft(failed)) assert.include(failed.left.message, "blocked.txt")
      assert.isFalse(existsSync(join(f.metaDir, "fingerprint")))
      const inFlight = JSON.parse(readFileSync(join(f.metaDir, "manifest.json"), "utf8"))
      assert.strictEqual(inFlight.entries.find((e: { path: string }) => e.path === "src/main.ts").hash, "pending")
      rmSync(join(f.workdir, "blocked.txt"), { recursive: true })
      const retried = yield* sync(f)
      assert.isFalse(retried.skipped)
      assert.strictEqual(retried.uploadedFiles, 2)
      assertMirrors(f)
    }))

  it.scopedLive("a settings change with no file change rewrites only the fingerprint", () =>
    Effect.gen(function* () {
      const f = yield* fixture
      const first = yield* sync(f)
      const changed = yield* sync(f, { excludes: ["*.nothing"] })
      assert.isFalse(changed.skipped)
      assert.notStrictEqual(changed.fingerprint, first.fingerprint)
      assert.strictEqual(changed.uploadedFiles, 0)
      assert.strictEqual(changed.removedFiles, 0)
      assertMirrors(f)
      assert.isTrue((yield* sync(f, { excludes: ["*.nothing"] })).skipped)
    }))

  it.scopedLive("a full resync wipes what the box added and uploads everything again", () =>
    Effect.gen(function* () {
      const f = yield* fixture
      yield* sync(f)
      write(f.workdir, "stray/artifact.o", "left by a build\n")
      const result = yield* sync(f, { fullResync: true })
      assert.strictEqual(result.uploadedFiles, 11)
      assert.strictEqual(yield* Ref.get(f.execs), 1, "no probe: the fingerprint is ignored")
      assertMirrors(f)
      assert.isTrue((yield* sync(f)).skipped)
    }))
})

describe("syncWorkspace with in-memory adapters", () => {
  const target = { host: "memory", port: 22, user: "u", privateKey: Redacted.make("k") }

  /** A fake box that has never been synced; records every command and its stdin. */
  const run = (
    files: Record<string, MemoryWorkspace.MemoryFile>,
    overrides: Partial<SyncOptions> = {}
  ) => Effect.gen(function* () {
    const calls = yield* Ref.make<ReadonlyArray<{ command: string; stdin: Uint8Array }>>([])
    const lines = yield* Ref.make<ReadonlyArray<string>>([])
    const transport = MemorySshTransport.layer({
      handler: (request, stdin) => Effect.as(
        Ref.update(calls, (all) => [...all, { command: request.command, stdin }]),
        { code: 0, stdout: request.command.includes("tar -x") ? "@@crabbox-sync done\n" : "@@crabbox-sync none\n" })
    })
    const result = yield* Effect.scoped(Effect.gen(function* () {
      const session = yield* Effect.flatMap(SshTransport, (ssh) => ssh.connect(target))
      return yield* syncWorkspace(session, {
        workdir: "/work/repo", metaDir: "/work/repo/.git/crabbox", excludes: [], forceLarge: false, fullResync: false,
        onProgress: (line) => Ref.update(lines, (all) => [...all, line]),
        ...overrides
      })
    })).pipe(Effect.either, Effect.provide(Layer.merge(transport, MemoryWorkspace.layer(files))))
    return { result, calls: yield* Ref.get(calls), lines: yield* Ref.get(lines) }
  })

  it.effect("an oversized upload set stops after the probe, before anything is sent", () =>
    Effect.gen(function* () {
      const files = Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`f/${i}.txt`, ""]))
      const { calls, result } = yield* run(files)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "SyncTooLarge")
      assert.strictEqual(calls.length, 1)
    }))

  it.effect("unsafe local paths are skipped and reported, never packed", () =>
    Effect.gen(function* () {
      const { calls, lines, result } = yield* run({ "../evil.txt": "EVIL", "ok.txt": "fine", "esc": { symlink: "../../x" } })
      assert.isTrue(Either.isRight(result) && result.right.uploadedFiles === 1)
      assert.include(lines, "sync: skipping ../evil.txt: unsafe path")
      assert.isTrue(lines.some((l) => l.startsWith("sync: skipping esc: symlink points outside")))
      const tar = Buffer.from(calls[1]!.stdin).toString("latin1")
      assert.include(tar, "ok.txt")
      assert.notInclude(tar, "EVIL")
    }))

  it.effect("a path that would land on the sync metadata is refused before any exec", () =>
    Effect.gen(function* () {
      const { calls, result } = yield* run({ ".git/crabbox/fingerprint": "forged", "a.txt": "a" }, { excludes: ["!.git"] })
      assert.isTrue(Either.isLeft(result) && result.left._tag === "SyncError")
      if (Either.isLeft(result)) assert.include(result.left.message, "sync metadata")
      assert.strictEqual(calls.length, 0)
    }))

  it.effect("relative or root remote directories are refused", () =>
    Effect.gen(function* () {
      for (const workdir of ["work/repo", "/"]) {
        const { calls, result } = yield* run({ "a.txt": "a" }, { workdir, metaDir: "/meta" })
        assert.isTrue(Either.isLeft(result) && result.left._tag === "SyncError", workdir)
        assert.strictEqual(calls.length, 0)
      }
    }))
})
