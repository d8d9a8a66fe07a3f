/**
 * Open an SSH session to a lease with per-lease host-key pinning: the first key seen is
 * pinned (trust on first use); a later, different key is refused by the transport.
 */
import { Effect, Option } from "effect"
import type { SshTarget } from "../../domain/sshTarget.js"
import { KeyStore } from "../../ports/KeyStore.js"
import { SshTransport } from "../../ports/SshTransport.js"
import type { LeaseTarget } from "../providers/backend.js"

export const sshTargetOf = (lease: LeaseTarget, connectTimeoutMs = 20_000): SshTarget => ({
  host: lease.ssh.host,
  port: lease.ssh.port,
  user: lease.ssh.user,
  privateKey: lease.ssh.privateKey,
  connectTimeoutMs,
  ...Option.match(lease.ssh.privateKeyPath, { onNone: () => ({}), onSome: (privateKeyPath) => ({ privateKeyPath }) }),
  ...Option.match(lease.ssh.pinnedHostKey, { onNone: () => ({}), onSome: (pinnedHostKey) => ({ pinnedHostKey }) })
})

export const openSession = (lease: LeaseTarget) =>
  Effect.gen(function* () {
    const transport = yield* SshTransport
    const keys = yield* KeyStore
    const session = yield* transport.connect(sshTargetOf(lease))
    if (Option.isNone(lease.ssh.pinnedHostKey)) {
      yield* keys.pinHostKey(lease.claim.leaseId, lease.ssh.host, lease.ssh.port, session.hostKey)
    }
    return session
  })

/** The remote workdir of a lease: `<workRoot>/<leaseId>/<repo dir name>`. */
export const remoteWorkdir = (lease: LeaseTarget, repoName: string): string =>
  `${lease.ssh.workRoot.replace(/\/+$/, "")}/${lease.claim.leaseId}/${repoName}`

/** Where sync keeps its manifest and fingerprint, beside (not inside) the workdir. */
export const remoteMetaDir = (lease: LeaseTarget, repoName: string): string =>
  `${lease.ssh.workRoot.replace(/\/+$/, "")}/${lease.claim.leaseId}/.crabbox/${repoName}`
