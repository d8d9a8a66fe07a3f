/**
 * KeyStore on disk: `keys/<leaseId>/{id_ed25519 (0600), id_ed25519.pub (0644),
 * known_hosts (0600)}` under the StateDir, directory 0700, every write fsynced.
 *
 * The private key file is the one source of truth: it is published with a no-clobber
 * link, so two processes ensuring the same lease agree on one key without a lock, and the
 * public key is always derived from it (a stale or missing .pub cannot mislead us).
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Layer, Option, Redacted } from "effect"
import { join } from "node:path"
import ssh2 from "ssh2"

// ssh2 is CommonJS: Node's ESM loader only sees its default export.
const { utils } = ssh2
import { KeyStoreError } from "../../domain/errors.js"
import type { LeaseId } from "../../domain/ids.js"
import type { HostKey } from "../../domain/sshTarget.js"
import { KeyStore, type LeaseKey } from "../../ports/KeyStore.js"
import { atomicWrite, ensureDirectory, removeDurably, syncDirectory } from "./atomicWrite.js"
import { leaseKeyDir, StateDir } from "./StateDir.js"
import { generateEd25519KeyPair } from "../shared/ed25519KeyPair.js"

const failWith = (operation: string, path: string) => (e: { readonly message: string }) =>
  new KeyStoreError({ operation, path, message: e.message })

const notFound = (e: PlatformError): boolean => e._tag === "SystemError" && e.reason === "NotFound"

/** `ssh-ed25519 AAAA... crabbox <leaseId>`, from the private key (OpenSSH format). */
const publicLineOf = (privateKey: string, path: string): Effect.Effect<string, KeyStoreError> => {
  const parsed = utils.parseKey(privateKey)
  if (parsed instanceof Error) return Effect.fail(failWith("parse", path)(parsed))
  const blob = parsed.getPublicSSH().toString("base64")
  return Effect.succeed(parsed.comment === "" ? `${parsed.type} ${blob}` : `${parsed.type} ${blob} ${parsed.comment}`)
}

/** The known_hosts host field: OpenSSH writes a bare host for port 22 and `[host]:port` otherwise. */
export const knownHostsPattern = (host: string, port: number): string =>
  port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`

/** The first plain (unhashed, unmarked) known_hosts entry for the pattern. */
export const findKnownHost = (text: string, pattern: string): Option.Option<HostKey> => {
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#") || line.startsWith("@")) continue
    const [hosts = "", algorithm, base64] = line.split(/\s+/)
    if (algorithm !== undefined && base64 !== undefined && hosts.split(",").includes(pattern)) {
      return Option.some({ algorithm, base64 })
    }
  }
  return Option.none()
}

// Everything we write into known_hosts must stay one well-formed line.
const safeHost = /^[^\s,[\]#]+$/
const safeAlgorithm = /^[A-Za-z0-9@._+-]+$/
const safeBase64 = /^[A-Za-z0-9+/]+={0,2}$/

export const layer: Layer.Layer<KeyStore, never, StateDir | FileSystem.FileSystem> = Layer.effect(KeyStore, Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const { root } = yield* StateDir
  const paths = (id: LeaseId) => {
    const dir = leaseKeyDir(root, id)
    return { dir, privateKey: join(dir, "id_ed25519"), publicKey: join(dir, "id_ed25519.pub"), knownHosts: join(dir, "known_hosts") }
  }

  const readOptional = (path: string, operation: string): Effect.Effect<Option.Option<string>, KeyStoreError> =>
    fs.readFileString(path).pipe(
      Effect.map(Option.some),
      Effect.catchIf(notFound, () => Effect.succeedNone),
      Effect.mapError(failWith(operation, path)))

  const toLeaseKey = (id: LeaseId, privateKey: string) => {
    const p = paths(id)
    return Effect.map(publicLineOf(privateKey, p.privateKey), (publicKey): LeaseKey => ({
      leaseId: id,
      privateKey: Redacted.make(privateKey),
      publicKey,
      privateKeyPath: Option.some(p.privateKey),
      knownHostsPath: Option.some(p.knownHosts)
    }))
  }

  const get = (id: LeaseId) =>
    Effect.flatMap(readOptional(paths(id).privateKey, "read"), Option.match({
      onNone: () => Effect.succeedNone,
      onSome: (privateKey) => Effect.map(toLeaseKey(id, privateKey), Option.some)
    }))

  const generate = (id: LeaseId, path: string) =>
    Effect.try({
      try: () => generateEd25519KeyPair(`crabbox ${id}`).private,
      catch: (e) => new KeyStoreError({ operation: "generate", path, message: String(e) })
    })

  const ensure = (id: LeaseId) => Effect.gen(function* () {
    const p = paths(id)
    let privateKey = yield* readOptional(p.privateKey, "read")
    if (Option.isNone(privateKey)) {
      const fresh = yield* generate(id, p.privateKey)
      const won = yield* atomicWrite(fs, p.privateKey, fresh, { mode: 0o600, exclusive: true }).pipe(
        Effect.mapError(failWith("write", p.privateKey)))
      // Lost the race to another process: its key is the lease's key.
      privateKey = won ? Option.some(fresh) : yield* readOptional(p.privateKey, "read")
    }
    if (Option.isNone(privateKey)) {
      return yield* new KeyStoreError({ operation: "read", path: p.privateKey, message: "key vanished while being created" })
    }
    const key = yield* toLeaseKey(id, privateKey.value)
    // Rewritten when missing or stale (a crash between the two writes, a hand edit).
    const onDisk = yield* readOptional(p.publicKey, "read")
    if (Option.getOrUndefined(onDisk) !== `${key.publicKey}\n`) {
      yield* atomicWrite(fs, p.publicKey, `${key.publicKey}\n`, { mode: 0o644 }).pipe(
        Effect.mapError(failWith("write", p.publicKey)))
    }
    return key
  })

  const pinnedHostKey = (id: LeaseId, host: string, port: number) =>
    Effect.map(readOptional(paths(id).knownHosts, "read"), (text) =>
      Option.flatMap(text, (t) => findKnownHost(t, knownHostsPattern(host, port))))

  /** Append one line, durably; the file is (re)set to 0600 whatever the umask did. */
  const appendLine = (path: string, dir: string, line: string) => Effect.gen(function* () {
    yield* ensureDirectory(fs, dir)
    const existed = yield* fs.exists(path)
    yield* Effect.scoped(Effect.gen(function* () {
      const handle = yield* fs.open(path, { flag: "a", mode: 0o600 })
      yield* fs.chmod(path, 0o600)
      yield* handle.writeAll(new TextEncoder().encode(line))
      yield* handle.sync
    }))
    if (!existed) yield* syncDirectory(fs, dir)
  })

  const pinHostKey = (id: LeaseId, host: string, port: number, key: HostKey) => Effect.gen(function* () {
    const p = paths(id)
    const pattern = knownHostsPattern(host, port)
    if (!safeHost.test(host) || !safeAlgorithm.test(key.algorithm) || !safeBase64.test(key.base64)) {
      return yield* new KeyStoreError({ operation: "pin", path: p.knownHosts, message: `refusing a malformed host or key for ${pattern}` })
    }
    const pinned = yield* pinnedHostKey(id, host, port)
    if (Option.isSome(pinned)) {
      if (pinned.value.algorithm === key.algorithm && pinned.value.base64 === key.base64) return
      // Trust on first use only: replacing a pin must be an explicit removal, never a side effect.
      return yield* new KeyStoreError({ operation: "pin", path: p.knownHosts, message: `a different host key is already pinned for ${pattern}` })
    }
    yield* appendLine(p.knownHosts, p.dir, `${pattern} ${key.algorithm} ${key.base64}\n`).pipe(
      Effect.mapError(failWith("pin", p.knownHosts)))
  })

  return KeyStore.of({
    ensure,
    get,
    remove: (id) => removeDurably(fs, paths(id).dir).pipe(Effect.mapError(failWith("remove", paths(id).dir))),
    pinnedHostKey,
    knownHostsPath: (id) => Effect.map(readOptional(paths(id).knownHosts, "read"), Option.as(paths(id).knownHosts)),
    pinHostKey
  })
}))
