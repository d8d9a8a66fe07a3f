/** Port: per-lease SSH key pairs (ed25519, OpenSSH format) and the lease's pinned host keys. */
import type { Effect, Option, Redacted } from "effect"
import { Context } from "effect"
import type { KeyStoreError } from "../domain/errors.js"
import type { LeaseId } from "../domain/ids.js"
import type { HostKey } from "../domain/sshTarget.js"

export interface LeaseKey {
  readonly leaseId: LeaseId
  readonly privateKey: Redacted.Redacted<string>
  /** `ssh-ed25519 AAAA... crabbox <leaseId>` */
  readonly publicKey: string
  /** Where the private key lives (for an equivalent OpenSSH command); absent in memory. */
  readonly privateKeyPath: Option.Option<string>
  /** Where the lease's known_hosts lives; absent in memory. */
  readonly knownHostsPath: Option.Option<string>
}

export class KeyStore extends Context.Tag("crabbox/KeyStore")<KeyStore, {
  /** The lease's key, generated (durably, 0600) on first use. */
  readonly ensure: (id: LeaseId) => Effect.Effect<LeaseKey, KeyStoreError>
  readonly get: (id: LeaseId) => Effect.Effect<Option.Option<LeaseKey>, KeyStoreError>
  /** Remove the lease's key and pinned host keys. Idempotent. */
  readonly remove: (id: LeaseId) => Effect.Effect<void, KeyStoreError>
  /** The host key pinned for `host:port` under this lease, if any. */
  readonly pinnedHostKey: (id: LeaseId, host: string, port: number) => Effect.Effect<Option.Option<HostKey>, KeyStoreError>
  /** Where the lease's known_hosts lives (for OpenSSH), once something is pinned; None in memory. */
  readonly knownHostsPath: (id: LeaseId) => Effect.Effect<Option.Option<string>, KeyStoreError>
  /** Pin a host key on first use (known_hosts line `[host]:port algo base64`). */
  readonly pinHostKey: (id: LeaseId, host: string, port: number, key: HostKey) => Effect.Effect<void, KeyStoreError>
}>() {}
