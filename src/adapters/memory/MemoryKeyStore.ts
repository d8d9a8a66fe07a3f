/**
 * In-memory KeyStore with the file store's semantics. Keys are real ed25519 pairs
 * (OpenSSH format, from ssh2), so a test can hand them to a real sshd. Host pins are
 * trust-on-first-use: pinning a different key for a pinned host fails. Public API, for
 * users' tests; each `layer` build has its own state.
 */
import { Effect, HashMap, Layer, Option, Redacted, Ref } from "effect"
import { KeyStoreError } from "../../domain/errors.js"
import type { LeaseId } from "../../domain/ids.js"
import type { HostKey } from "../../domain/sshTarget.js"
import { KeyStore, type LeaseKey } from "../../ports/KeyStore.js"
import { generateEd25519KeyPair } from "../shared/ed25519KeyPair.js"

interface Lease {
  readonly key: Option.Option<LeaseKey>
  /** keyed by `host:port`, host lowercased as OpenSSH does */
  readonly hosts: HashMap.HashMap<string, HostKey>
}

const empty: Lease = { key: Option.none(), hosts: HashMap.empty() }

const hostId = (host: string, port: number) => `${host.toLowerCase()}:${port}`

export const layer: Layer.Layer<KeyStore> = Layer.effect(KeyStore, Effect.gen(function* () {
  const leases = yield* Ref.make(HashMap.empty<LeaseId, Lease>())
  const lease = (id: LeaseId) => Effect.map(Ref.get(leases), (map) => Option.getOrElse(HashMap.get(map, id), () => empty))

  const generate = (id: LeaseId) =>
    Effect.try({
      try: (): LeaseKey => {
        const pair = generateEd25519KeyPair(`crabbox ${id}`)
        return {
          leaseId: id,
          privateKey: Redacted.make(pair.private),
          publicKey: pair.public,
          privateKeyPath: Option.none(),
          knownHostsPath: Option.none()
        }
      },
      catch: (e) => new KeyStoreError({ operation: "generate", path: `memory:${id}`, message: String(e) })
    })

  const ensure = (id: LeaseId) => Effect.gen(function* () {
    const existing = (yield* lease(id)).key
    if (Option.isSome(existing)) return existing.value
    const fresh = yield* generate(id)
    // Set-if-absent in one step: concurrent callers agree on one key, as the file store's
    // no-clobber publish makes them do.
    return yield* Ref.modify(leases, (map): readonly [LeaseKey, HashMap.HashMap<LeaseId, Lease>] => {
      const current = Option.getOrElse(HashMap.get(map, id), () => empty)
      return Option.match(current.key, {
        onSome: (key) => [key, map],
        onNone: () => [fresh, HashMap.set(map, id, { ...current, key: Option.some(fresh) })]
      })
    })
  })

  const pinHostKey = (id: LeaseId, host: string, port: number, key: HostKey) =>
    Effect.flatten(Ref.modify(leases, (map): readonly [Effect.Effect<void, KeyStoreError>, HashMap.HashMap<LeaseId, Lease>] => {
      const current = Option.getOrElse(HashMap.get(map, id), () => empty)
      const pinned = HashMap.get(current.hosts, hostId(host, port))
      if (Option.isNone(pinned)) {
        return [Effect.void, HashMap.set(map, id, { ...current, hosts: HashMap.set(current.hosts, hostId(host, port), key) })]
      }
      const same = pinned.value.algorithm === key.algorithm && pinned.value.base64 === key.base64
      return [
        same ? Effect.void : Effect.fail(new KeyStoreError({
          operation: "pin",
          path: `memory:${id}`,
          message: `a different host key is already pinned for ${host}:${port}`
        })),
        map
      ]
    }))

  return KeyStore.of({
    ensure,
    get: (id) => Effect.map(lease(id), (l) => l.key),
    knownHostsPath: () => Effect.succeed(Option.none()),
    remove: (id) => Ref.update(leases, HashMap.remove(id)),
    pinnedHostKey: (id, host, port) => Effect.map(lease(id), (l) => HashMap.get(l.hosts, hostId(host, port))),
    pinHostKey
  })
}))
