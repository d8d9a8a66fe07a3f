import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Effect, Layer, Option, Redacted } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FileKeyStore from "../../src/adapters/fs/FileKeyStore.js"
import * as StateDir from "../../src/adapters/fs/StateDir.js"
import * as MemoryKeyStore from "../../src/adapters/memory/MemoryKeyStore.js"
import { LeaseId } from "../../src/domain/ids.js"
import { KeyStore } from "../../src/ports/KeyStore.js"

const id = LeaseId.make("cbx_0123456789ab")
const other = LeaseId.make("cbx_ba9876543210")
const hostKey = { algorithm: "ssh-ed25519", base64: "AAAAC3NzaC1lZDI1NTE5AAAAIF84B452rschOu0I2SPyNpLw/P+C9zBpfYwfM4x6Lk+4" }
const rotated = { algorithm: "ssh-ed25519", base64: "AAAAC3NzaC1lZDI1NTE5AAAAIBOeQ7wM0pxbc7SY2IqfWUu3WwnwBqyiU5oDK8XmoBE5" }

const stateRoot = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "crabbox-keys-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
  (dir) => join(dir, "state"))

const fileStore = (root: string) =>
  FileKeyStore.layer.pipe(Layer.provide(StateDir.layer(root)), Layer.provide(NodeFileSystem.layer))

const mode = (path: string) => statSync(path).mode & 0o777
const keyDir = (root: string) => join(root, "keys", id)

/** The behaviour both stores promise, run against each. */
const contract = (name: string, store: Effect.Effect<Layer.Layer<KeyStore>, never, Scope.Scope>) =>
  describe(`${name} (KeyStore contract)`, () => {
    const run = <A, E>(program: Effect.Effect<A, E, KeyStore>) => Effect.flatMap(store, (l) => Effect.provide(program, l))

    it.scoped("ensure makes an ed25519 key once and reuses it", () => run(Effect.gen(function* () {
      const keys = yield* KeyStore
      assert.deepStrictEqual(yield* keys.get(id), Option.none())
      const first = yield* keys.ensure(id)
      const again = yield* keys.ensure(id)
      assert.match(first.publicKey, /^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ crabbox cbx_0123456789ab$/)
      assert.include(Redacted.value(first.privateKey), "-----BEGIN OPENSSH PRIVATE KEY-----")
      assert.notInclude(String(first.privateKey), "PRIVATE KEY")
      assert.strictEqual(again.publicKey, first.publicKey)
      assert.strictEqual(Redacted.value(again.privateKey), Redacted.value(first.privateKey))
      assert.strictEqual(Option.getOrThrow(yield* keys.get(id)).publicKey, first.publicKey)
      assert.notStrictEqual((yield* keys.ensure(other)).publicKey, first.publicKey)
    })))

    it.scoped("concurrent ensure calls agree on one key", () => run(Effect.gen(function* () {
      const keys = yield* KeyStore
      const all = yield* Effect.all(Array.from({ length: 6 }, () => keys.ensure(id)), { concurrency: "unbounded" })
      assert.strictEqual(new Set(all.map((k) => k.publicKey)).size, 1)
      assert.strictEqual(Option.getOrThrow(yield* keys.get(id)).publicKey, all[0]!.publicKey)
    })))

    it.scoped("remove forgets the key and the pins, and is idempotent", () => run(Effect.gen(function* () {
      const keys = yield* KeyStore
      yield* keys.remove(id)
      const before = yield* keys.ensure(id)
      yield* keys.pinHostKey(id, "127.0.0.1", 2222, hostKey)
      yield* keys.remove(id)
      yield* keys.remove(id)
      assert.deepStrictEqual(yield* keys.get(id), Option.none())
      assert.deepStrictEqual(yield* keys.pinnedHostKey(id, "127.0.0.1", 2222), Option.none())
      assert.notStrictEqual((yield* keys.ensure(id)).publicKey, before.publicKey)
    })))

    it.scoped("host keys are pinned on first use, per lease, host and port", () => run(Effect.gen(function* () {
      const keys = yield* KeyStore
      assert.deepStrictEqual(yield* keys.pinnedHostKey(id, "127.0.0.1", 2222), Option.none())
      yield* keys.pinHostKey(id, "127.0.0.1", 2222, hostKey)
      yield* keys.pinHostKey(id, "127.0.0.1", 2222, hostKey)
      yield* keys.pinHostKey(id, "Box.Example", 22, rotated)
      assert.deepStrictEqual(yield* keys.pinnedHostKey(id, "127.0.0.1", 2222), Option.some(hostKey))
      assert.deepStrictEqual(yield* keys.pinnedHostKey(id, "box.example", 22), Option.some(rotated))
      assert.deepStrictEqual(yield* keys.pinnedHostKey(id, "127.0.0.1", 22), Option.none())
      assert.deepStrictEqual(yield* keys.pinnedHostKey(other, "127.0.0.1", 2222), Option.none())
      const refused = yield* Effect.flip(keys.pinHostKey(id, "127.0.0.1", 2222, rotated))
      assert.strictEqual(refused._tag, "KeyStoreError")
      assert.deepStrictEqual(yield* keys.pinnedHostKey(id, "127.0.0.1", 2222), Option.some(hostKey))
    })))
  })

contract("FileKeyStore", Effect.map(stateRoot, fileStore))
contract("MemoryKeyStore", Effect.succeed(MemoryKeyStore.layer))

describe("FileKeyStore on disk", () => {
  it.scoped("writes an OpenSSH key ssh-keygen accepts: private 0600, public 0644, directories 0700", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const key = yield* Effect.flatMap(KeyStore, (k) => k.ensure(id)).pipe(Effect.provide(fileStore(root)))
    const privatePath = join(keyDir(root), "id_ed25519")
    assert.deepStrictEqual(key.privateKeyPath, Option.some(privatePath))
    assert.deepStrictEqual(key.knownHostsPath, Option.some(join(keyDir(root), "known_hosts")))
    assert.strictEqual(mode(privatePath), 0o600)
    assert.strictEqual(mode(`${privatePath}.pub`), 0o644)
    assert.strictEqual(mode(keyDir(root)), 0o700)
    assert.strictEqual(mode(join(root, "keys")), 0o700)
    assert.strictEqual(mode(root), 0o700)
    assert.deepStrictEqual(readdirSync(keyDir(root)).sort(), ["id_ed25519", "id_ed25519.pub"])
    assert.strictEqual(readFileSync(`${privatePath}.pub`, "utf8"), `${key.publicKey}\n`)
    assert.strictEqual(readFileSync(privatePath, "utf8"), Redacted.value(key.privateKey))
    // ssh-keygen refuses a private key file others can read, so this checks the mode too.
    const derived = execFileSync("ssh-keygen", ["-y", "-f", privatePath]).toString().trim()
    assert.strictEqual(derived.split(" ").slice(0, 2).join(" "), key.publicKey.split(" ").slice(0, 2).join(" "))
  }))

  it.scoped("a key written earlier is reused by a new store, and a lost .pub is rewritten", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const first = yield* Effect.flatMap(KeyStore, (k) => k.ensure(id)).pipe(Effect.provide(fileStore(root)))
    rmSync(join(keyDir(root), "id_ed25519.pub"))
    const second = yield* Effect.flatMap(KeyStore, (k) => k.ensure(id)).pipe(Effect.provide(fileStore(root)))
    assert.strictEqual(second.publicKey, first.publicKey)
    assert.strictEqual(readFileSync(join(keyDir(root), "id_ed25519.pub"), "utf8"), `${first.publicKey}\n`)
  }))

  it.scoped("known_hosts is OpenSSH format, 0600, and ssh-keygen finds the pins", () => Effect.gen(function* () {
    const root = yield* stateRoot
    yield* Effect.gen(function* () {
      const keys = yield* KeyStore
      yield* keys.pinHostKey(id, "127.0.0.1", 2222, hostKey)
      yield* keys.pinHostKey(id, "box.example", 22, rotated)
    }).pipe(Effect.provide(fileStore(root)))
    const knownHosts = join(keyDir(root), "known_hosts")
    assert.strictEqual(mode(knownHosts), 0o600)
    assert.strictEqual(readFileSync(knownHosts, "utf8"), [
      `[127.0.0.1]:2222 ${hostKey.algorithm} ${hostKey.base64}`,
      `box.example ${rotated.algorithm} ${rotated.base64}`,
      ""
    ].join("\n"))
    assert.include(execFileSync("ssh-keygen", ["-F", "[127.0.0.1]:2222", "-f", knownHosts]).toString(), hostKey.base64)
    assert.include(execFileSync("ssh-keygen", ["-F", "box.example", "-f", knownHosts]).toString(), rotated.base64)
  }))

  it.scoped("reads pins written by OpenSSH, skipping comments, markers and hashed hosts", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const knownHosts = join(keyDir(root), "known_hosts")
    yield* Effect.flatMap(KeyStore, (k) => k.ensure(id)).pipe(Effect.provide(fileStore(root)))
    writeFileSync(knownHosts, [
      "# a comment",
      `@revoked [10.0.0.1]:2200 ${rotated.algorithm} ${rotated.base64}`,
      `|1|abc=|def= ${rotated.algorithm} ${rotated.base64}`,
      `alias,[10.0.0.1]:2200 ${hostKey.algorithm} ${hostKey.base64} trailing comment`,
      ""
    ].join("\n"), { mode: 0o600 })
    const pinned = yield* Effect.flatMap(KeyStore, (k) => k.pinnedHostKey(id, "10.0.0.1", 2200)).pipe(Effect.provide(fileStore(root)))
    assert.deepStrictEqual(pinned, Option.some(hostKey))
  }))

  it.scoped("a host or key that would break the known_hosts line is refused", () => Effect.gen(function* () {
    const root = yield* stateRoot
    const errors = yield* Effect.gen(function* () {
      const keys = yield* KeyStore
      return yield* Effect.all([
        Effect.flip(keys.pinHostKey(id, "evil host", 22, hostKey)),
        Effect.flip(keys.pinHostKey(id, "box", 22, { algorithm: "ssh-ed25519", base64: "AAAA\n* ssh-rsa AAAA" }))
      ])
    }).pipe(Effect.provide(fileStore(root)))
    assert.deepStrictEqual(errors.map((e) => e.operation), ["pin", "pin"])
    assert.isFalse(existsSync(join(keyDir(root), "known_hosts")))
  }))

  it.scoped("remove deletes the lease's whole key directory and nothing else", () => Effect.gen(function* () {
    const root = yield* stateRoot
    yield* Effect.gen(function* () {
      const keys = yield* KeyStore
      yield* keys.ensure(id)
      yield* keys.ensure(other)
      yield* keys.pinHostKey(id, "127.0.0.1", 2222, hostKey)
      yield* keys.remove(id)
    }).pipe(Effect.provide(fileStore(root)))
    assert.isFalse(existsSync(keyDir(root)))
    assert.isTrue(existsSync(join(root, "keys", other, "id_ed25519")))
  }))
})
