import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Option, Ref } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FileClaimStore from "../../src/adapters/fs/FileClaimStore.js"
import * as StateDir from "../../src/adapters/fs/StateDir.js"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import type { Claim } from "../../src/domain/claim.js"
import { LeaseId } from "../../src/domain/ids.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"

const idA = LeaseId.make("cbx_00000000000a")
const idB = LeaseId.make("cbx_00000000000b")

const aClaim = (leaseId: LeaseId, changes: Partial<Claim> = {}): Claim => ({
  version: 1,
  leaseId,
  slug: "blue-crab",
  provider: "ssh",
  providerScope: "host:me@box:22",
  state: "ready",
  repoRoot: "/work/repo",
  createdAt: "2026-01-02T03:04:05Z",
  claimedAt: "2026-01-02T03:04:05Z",
  lastUsedAt: "2026-01-02T03:04:05Z",
  ttlSeconds: 3600,
  idleTimeoutSeconds: 900,
  keep: false,
  ssh: { host: "127.0.0.1", port: 2222, user: "crab", workRoot: "/work/crabbox" },
  labels: { team: "infra" },
  ...changes
})

/** A fresh state root (not yet created: the store must create it 0700), removed afterwards. */
const stateRoot = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "crabbox-claims-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
  (dir) => join(dir, "state"))

const fileStore = (root: string, lock: FileClaimStore.LockOptions = FileClaimStore.defaultLockOptions) =>
  FileClaimStore.layerWith(lock).pipe(Layer.provide(StateDir.layer(root)), Layer.provide(NodeFileSystem.layer))

const mode = (path: string) => statSync(path).mode & 0o777
const claimPath = (root: string, id: LeaseId) => join(root, "claims", `${id}.json`)
const lockTarget = (root: string, id: LeaseId) => join(root, "claim-locks", `${id}.lock`)

/** A separate node process holding the lease's lock with proper-lockfile, until told to let go. */
const childHoldingLock = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly release: Effect.Effect<void> }, Error>((resume) => {
      const script = `
        const lockfile = require("proper-lockfile")
        lockfile.lock(process.argv[1], { realpath: false, stale: 20000 }).then((release) => {
          process.stdout.write("locked\\n")
          process.stdin.once("data", () => release().then(() => { process.stdout.write("released\\n"); process.exit(0) }))
        }, (e) => { process.stdout.write("failed " + e.code + "\\n"); process.exit(1) })`
      const child = spawn(process.execPath, ["-e", script, target], { cwd: process.cwd(), stdio: ["pipe", "pipe", "inherit"] })
      let out = ""
      const released = new Promise<void>((done) => child.stdout.on("data", (b: Buffer) => {
        out += b.toString()
        if (out.includes("locked\n") && !out.includes("released")) resume(Effect.succeed({ release }))
        if (out.includes("released\n")) done()
      }))
      const release = Effect.promise(() => { child.stdin.write("go\n"); return released })
      child.once("exit", (code) => { if (!out.includes("locked")) resume(Effect.fail(new Error(`child exited ${code}: ${out}`))) })
      return Effect.sync(() => child.kill("SIGKILL"))
    }),
    (child) => child.release.pipe(Effect.timeout("5 seconds"), Effect.ignore))

describe("FileClaimStore", () => {
  it.scoped("creates indented JSON, 0600 in 0700 directories, leaving no temp files", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const claim = aClaim(idA)
    const got = yield* Effect.gen(function* () {
      const store = yield* ClaimStore
      yield* store.create(claim)
      return yield* store.get(idA)
    }).pipe(Effect.provide(fileStore(root)))
    assert.deepStrictEqual(got, Option.some(claim))
    const text = readFileSync(claimPath(root, idA), "utf8")
    assert.isTrue(text.endsWith("}\n"))
    assert.include(text, '\n  "leaseId": "cbx_00000000000a"')
    assert.strictEqual(mode(claimPath(root, idA)), 0o600)
    assert.strictEqual(mode(root), 0o700)
    assert.strictEqual(mode(join(root, "claims")), 0o700)
    assert.deepStrictEqual(readdirSync(join(root, "claims")), [`${idA}.json`])
  }))

  it.scoped("create refuses a lease that already has a claim", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const error = yield* Effect.gen(function* () {
      const store = yield* ClaimStore
      yield* store.create(aClaim(idA))
      return yield* Effect.flip(store.create(aClaim(idA, { slug: "other" })))
    }).pipe(Effect.provide(fileStore(root)))
    assert.strictEqual(error._tag, "ClaimChanged")
    assert.include(readFileSync(claimPath(root, idA), "utf8"), '"blue-crab"')
  }))

  it.scoped("replace and remove are compare-and-swap: a stale snapshot changes nothing", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const v1 = aClaim(idA)
    const v2 = aClaim(idA, { state: "running", lastUsedAt: "2026-01-02T04:00:00Z" })
    const v3 = aClaim(idA, { state: "releasing" })
    yield* Effect.gen(function* () {
      const store = yield* ClaimStore
      yield* store.create(v1)
      yield* store.replace(v1, v2)
      assert.strictEqual((yield* Effect.flip(store.replace(v1, v3)))._tag, "ClaimChanged")
      assert.strictEqual((yield* Effect.flip(store.remove(v1)))._tag, "ClaimChanged")
      assert.deepStrictEqual(yield* store.get(idA), Option.some(v2))
      yield* store.remove(v2)
      assert.deepStrictEqual(yield* store.get(idA), Option.none())
      assert.strictEqual((yield* Effect.flip(store.replace(v2, v3)))._tag, "ClaimChanged")
      assert.strictEqual((yield* Effect.flip(store.remove(v2)))._tag, "ClaimChanged")
    }).pipe(Effect.provide(fileStore(root)))
    assert.deepStrictEqual(readdirSync(join(root, "claims")), [])
  }))

  it.scoped("an optional field appearing counts as a change", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const { cloudId: _, ...withoutCloudId } = aClaim(idA)
    const error = yield* Effect.gen(function* () {
      const store = yield* ClaimStore
      yield* store.create(aClaim(idA, { cloudId: "i-123" }))
      return yield* Effect.flip(store.remove(withoutCloudId))
    }).pipe(Effect.provide(fileStore(root)))
    assert.strictEqual(error._tag, "ClaimChanged")
  }))

  it.scoped("a claim that would not survive JSON is refused and nothing is written", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const error = yield* ClaimStore.pipe(
      Effect.flatMap((store) => Effect.flip(store.create(aClaim(idA, { ttlSeconds: Number.NaN })))),
      Effect.provide(fileStore(root)))
    assert.strictEqual(error._tag, "ClaimStoreError")
    assert.isFalse(existsSync(claimPath(root, idA)))
  }))

  it.scoped("list skips unreadable, invalid and temp files and leaves them in place", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const claims = join(root, "claims")
    mkdirSync(claims, { recursive: true, mode: 0o700 })
    const broken = join(claims, "cbx_000000000bad.json")
    const wrongLease = join(claims, "cbx_0000000000cc.json")
    const unreadable = join(claims, "cbx_0000000000dd.json")
    const temp = join(claims, `.${idB}.json.tmp-xyz`)
    writeFileSync(broken, "{ not json", { mode: 0o600 })
    writeFileSync(wrongLease, JSON.stringify(aClaim(idB)), { mode: 0o600 })
    mkdirSync(unreadable) // reading a directory fails even as root
    writeFileSync(temp, JSON.stringify(aClaim(idB)), { mode: 0o600 })
    writeFileSync(join(claims, "notes.txt"), "hello")
    const { listed, getBroken } = yield* Effect.gen(function* () {
      const store = yield* ClaimStore
      yield* store.create(aClaim(idA))
      return { listed: yield* store.list, getBroken: yield* Effect.flip(store.get(LeaseId.make("cbx_000000000bad"))) }
    }).pipe(Effect.provide(fileStore(root)))
    assert.deepStrictEqual(listed.map((c) => c.leaseId), [idA])
    assert.strictEqual(getBroken.operation, "decode")
    assert.strictEqual(getBroken.path, broken)
    for (const path of [broken, wrongLease, unreadable, temp]) assert.isTrue(existsSync(path), path)
  }))

  it.scoped("list of a state dir that does not exist yet is empty", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const listed = yield* Effect.flatMap(ClaimStore, (s) => s.list).pipe(Effect.provide(fileStore(root)))
    assert.deepStrictEqual(listed, [])
  }))

  it.scopedLive("the lock target is 0600 and the lock is gone after use", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const seen = yield* Effect.flatMap(ClaimStore, (s) => s.withLock(idA, Effect.sync(() => existsSync(`${lockTarget(root, idA)}.lock`)))).pipe(
      Effect.provide(fileStore(root)))
    assert.isTrue(seen, "held while inside")
    assert.strictEqual(mode(lockTarget(root, idA)), 0o600)
    assert.strictEqual(mode(join(root, "claim-locks")), 0o700)
    assert.isFalse(existsSync(`${lockTarget(root, idA)}.lock`), "released")
  }))

  it.scopedLive("the lock is released when the holder fails or is interrupted", () => Effect.gen(function* () {
    const root = yield* stateRoot
    yield* Effect.gen(function* () {
      const store = yield* ClaimStore
      const failed = yield* Effect.exit(store.withLock(idA, Effect.fail("boom")))
      assert.deepStrictEqual(failed, Exit.fail("boom"))
      const inside = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(store.withLock(idA, Effect.zipRight(Deferred.succeed(inside, undefined), Effect.never)))
      yield* Deferred.await(inside)
      yield* Fiber.interrupt(holder)
      const next = yield* store.withLock(idA, Effect.succeed("free")).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(next, "free")
    }).pipe(Effect.provide(fileStore(root)))
    assert.isFalse(existsSync(`${lockTarget(root, idA)}.lock`))
  }))

  it.scopedLive("withLock completes inside an uninterruptible region (a rollback finalizer)", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const result = yield* Effect.flatMap(ClaimStore, (s) => Effect.uninterruptible(s.withLock(idA, Effect.succeed("done")))).pipe(
      Effect.provide(fileStore(root)),
      Effect.timeout("5 seconds")
    )
    assert.strictEqual(result, "done")
  }))

  it.scopedLive("another process holding the lock makes us wait, and a bounded wait fails", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const target = lockTarget(root, idA)
    mkdirSync(join(root, "claim-locks"), { recursive: true })
    writeFileSync(target, "", { mode: 0o600 })
    const child = yield* childHoldingLock(target)
    const shortWait = fileStore(root, { wait: "300 millis", stale: "20 seconds" })
    const error = yield* Effect.flatMap(ClaimStore, (s) => Effect.flip(s.create(aClaim(idA)))).pipe(Effect.provide(shortWait))
    assert.strictEqual(error._tag, "ClaimStoreError")
    assert.strictEqual(error._tag === "ClaimStoreError" && error.operation, "lock")
    assert.isFalse(existsSync(claimPath(root, idA)))

    // A waiter blocked on the other process gets in once it lets go.
    const waiter = yield* Effect.fork(Effect.flatMap(ClaimStore, (s) => s.create(aClaim(idA))).pipe(Effect.provide(fileStore(root))))
    yield* Effect.sleep("200 millis")
    assert.isFalse(existsSync(claimPath(root, idA)))
    yield* child.release
    yield* Fiber.join(waiter).pipe(Effect.timeout("5 seconds"))
    assert.isTrue(existsSync(claimPath(root, idA)))
  }), 20_000)

  it.scopedLive("a lock left behind by a dead process is taken over once stale", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const target = lockTarget(root, idA)
    mkdirSync(`${target}.lock`, { recursive: true })
    const longAgo = new Date("2020-01-01T00:00:00Z")
    utimesSync(`${target}.lock`, longAgo, longAgo)
    const result = yield* Effect.flatMap(ClaimStore, (s) => s.withLock(idA, Effect.succeed("taken over"))).pipe(
      Effect.provide(fileStore(root, { wait: "1 second", stale: "2 seconds" })))
    assert.strictEqual(result, "taken over")
  }))
})

describe("StateDir.layerFromEnv", () => {
  const rootFrom = (env: Record<string, string>) =>
    Effect.map(StateDir.StateDir, (dir) => dir.root).pipe(
      Effect.provide(StateDir.layerFromEnv),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

  it.effect("CRABBOX_STATE_DIR wins, then XDG_STATE_HOME, then HOME", () => Effect.gen(function* () {
    const all = { CRABBOX_STATE_DIR: "/srv/crabbox//state/", XDG_STATE_HOME: "/xdg", HOME: "/home/crab" }
    assert.strictEqual(yield* rootFrom(all), "/srv/crabbox/state/")
    assert.strictEqual(yield* rootFrom({ ...all, CRABBOX_STATE_DIR: "" }), "/xdg/crabbox")
    assert.strictEqual(yield* rootFrom({ HOME: "/home/crab", XDG_STATE_HOME: "relative/ignored" }), "/home/crab/.local/state/crabbox")
  }))

  it.effect("a relative CRABBOX_STATE_DIR is a ConfigError naming it", () => Effect.gen(function* () {
    const error = yield* Effect.flip(rootFrom({ CRABBOX_STATE_DIR: "state", HOME: "/home/crab" }))
    assert.strictEqual(error._tag, "ConfigError")
    assert.strictEqual(error.key, "CRABBOX_STATE_DIR")
    assert.include(error.message, "absolute")
  }))

  it.effect("with no variable at all there is no root to guess", () => Effect.gen(function* () {
    const error = yield* Effect.flip(rootFrom({}))
    assert.strictEqual(error._tag, "ConfigError")
  }))
})

/** Lock behaviour both stores promise, so the memory twin can stand in for the file store. */
const lockStores = [
  { name: "MemoryClaimStore", layer: Effect.succeed(MemoryClaimStore.layer) },
  { name: "FileClaimStore", layer: Effect.map(stateRoot, (root) => fileStore(root)) }
] as const

for (const { name, layer } of lockStores) {
  describe(`${name}.withLock`, () => {
    const run = <A, E>(program: Effect.Effect<A, E, ClaimStore>) => Effect.flatMap(layer, (l) => Effect.provide(program, l))

    it.scopedLive("excludes a concurrent holder of the same lease, not of another", () => run(Effect.gen(function* () {
      const store = yield* ClaimStore
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const aInside = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const a = yield* Effect.fork(store.withLock(idA, Effect.gen(function* () {
        yield* Deferred.succeed(aInside, undefined)
        yield* Deferred.await(gate)
        yield* Ref.update(log, (l) => [...l, "a done"])
      })))
      yield* Deferred.await(aInside)
      const b = yield* Effect.fork(store.withLock(idA, Ref.update(log, (l) => [...l, "b inside"])))
      // A mutation from outside the lock waits too.
      const c = yield* Effect.fork(store.create(aClaim(idA)).pipe(Effect.zipRight(Ref.update(log, (l) => [...l, "c created"]))))
      const other = yield* store.withLock(idB, Effect.succeed("another lease is not blocked"))
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(yield* Ref.get(log), [])
      assert.strictEqual(other, "another lease is not blocked")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      yield* Fiber.join(c)
      assert.deepStrictEqual((yield* Ref.get(log))[0], "a done")
      assert.sameMembers([...(yield* Ref.get(log))], ["a done", "b inside", "c created"])
    })))

    it.scoped("mutations inside withLock for the same lease do not deadlock", () => run(Effect.gen(function* () {
      const v1 = aClaim(idA)
      const v2 = aClaim(idA, { state: "running" })
      const store = yield* ClaimStore
      yield* store.withLock(idA, Effect.gen(function* () {
        yield* store.create(v1)
        yield* store.withLock(idA, store.replace(v1, v2))
        // A fiber forked by the holder acts for it.
        yield* Effect.fork(store.replace(v2, v1)).pipe(Effect.flatMap(Fiber.join))
      }))
      assert.deepStrictEqual(yield* store.get(idA), Option.some(v1))
    })))
  })
}
