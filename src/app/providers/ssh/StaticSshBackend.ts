/**
 * The `ssh` provider's backend: an existing host is claimed, not provisioned. Acquire
 * probes SSH and pins the host key; release removes only the lease's workdir.
 */
import { FileSystem } from "@effect/platform"
import { Duration, Effect, Option, Redacted, Schedule } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { canTransition, CLAIM_VERSION } from "../../../domain/claim.js"
import { ClaimChanged, ConfigError, CredentialsMissing, LeaseStateConflict, LeaseCleanupFailed, ReadinessTimedOut, type SshError } from "../../../domain/errors.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import { describeError } from "../../../domain/errorMessage.js"
import { shellQuote } from "../../../domain/shellQuote.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import { KeyStore } from "../../../ports/KeyStore.js"
import { SshTransport } from "../../../ports/SshTransport.js"
import { checkRepoBinding, findClaim } from "../../leases/findClaim.js"
import { nowIso } from "../../leases/clockTime.js"
import { openSession } from "../../leases/openSession.js"
import { captureRemote } from "../../leases/remoteCommand.js"
import type { AcquireRequest, LeaseTarget, SshLeaseBackend } from "../backend.js"
import { staticSshSpec } from "./spec.js"
import { staticSshCleanup } from "./staticSshCleanup.js"
import { staticSshDoctor } from "./staticSshDoctor.js"

export interface StaticSshSettings {
  readonly host: Option.Option<string>
  readonly port: number
  readonly user: string
  /** path of the private key that the host authorizes */
  readonly keyPath: string
  readonly workRoot: string
}

export const staticScope = (s: StaticSshSettings, host: string) => `ssh:${s.user}@${host}:${s.port}`

export const makeStaticSshBackend = (settings: StaticSshSettings) =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const keys = yield* KeyStore
    const transport = yield* SshTransport
    const fs = yield* FileSystem.FileSystem
    const context = yield* Effect.context<ClaimStore | KeyStore | SshTransport | FileSystem.FileSystem>()
    const provide = <A, E>(effect: Effect.Effect<A, E, ClaimStore | KeyStore | SshTransport | FileSystem.FileSystem>) =>
      Effect.provide(effect, context)

    const host = Option.match(settings.host, {
      onNone: () => Effect.fail(new ConfigError({
        source: "config", key: "ssh.host",
        message: "provider=ssh needs a host: set ssh.host in .crabbox.yaml, CRABBOX_SSH_HOST or --ssh-host"
      })),
      onSome: Effect.succeed
    })
    const scope = Option.match(settings.host, { onNone: () => "ssh:unset", onSome: (h) => staticScope(settings, h) })

    const privateKey = fs.readFileString(settings.keyPath).pipe(
      Effect.map((text) => Redacted.make(text)),
      Effect.mapError(() => new CredentialsMissing({
        provider: "ssh",
        message: `cannot read SSH private key ${settings.keyPath}; set ssh.key, CRABBOX_SSH_KEY or --ssh-key`
      }))
    )

    const targetOf = (claim: Claim) =>
      Effect.gen(function* () {
        const ssh = claim.ssh!
        const pinned = yield* keys.pinnedHostKey(claim.leaseId, ssh.host, ssh.port)
        const knownHostsPath = yield* keys.knownHostsPath(claim.leaseId)
        return {
          claim,
          ssh: {
            ...ssh,
            privateKey: yield* privateKey,
            privateKeyPath: Option.some(settings.keyPath),
            knownHostsPath,
            pinnedHostKey: pinned
          }
        } satisfies LeaseTarget
      })

    const acquire = (req: AcquireRequest) =>
      Effect.gen(function* () {
        const hostName = yield* host
        const key = yield* privateKey
        const hostKey = yield* transport.probe({
          host: hostName, port: settings.port, user: settings.user, privateKey: key, connectTimeoutMs: 10_000
        }, "15 seconds").pipe(
          Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.intersect(Schedule.recurs(2)))),
          Effect.catchTag("SshError", (e): Effect.Effect<never, SshError | ReadinessTimedOut> => e.kind === "auth"
            ? Effect.fail(e)
            : Effect.fail(new ReadinessTimedOut({ leaseId: req.leaseId, message: `ssh ${settings.user}@${hostName}:${settings.port} not reachable: ${e.message}` })))
        )
        yield* keys.pinHostKey(req.leaseId, hostName, settings.port, hostKey)
        const now = yield* nowIso
        const claim: Claim = {
          version: CLAIM_VERSION,
          leaseId: req.leaseId,
          slug: req.slug,
          provider: staticSshSpec.name,
          providerScope: scope,
          cloudId: `${hostName}:${settings.port}`,
          state: "ready",
          repoRoot: req.repoRoot,
          createdAt: now,
          claimedAt: now,
          lastUsedAt: now,
          ttlSeconds: Math.round(Duration.toSeconds(req.ttl)),
          idleTimeoutSeconds: Math.round(Duration.toSeconds(req.idleTimeout)),
          keep: req.keep,
          ssh: { host: hostName, port: settings.port, user: settings.user, workRoot: settings.workRoot },
          labels: { target: "linux" }
        }
        yield* claims.create(claim)
        return yield* targetOf(claim)
      })

    const release = (lease: LeaseTarget) =>
      Effect.scoped(Effect.gen(function* () {
        const session = yield* openSession(lease)
        const dir = `${lease.ssh.workRoot.replace(/\/+$/, "")}/${lease.claim.leaseId}`
        const removed = yield* captureRemote(session, `rm -rf -- ${shellQuote(dir)}`)
        if (removed.status.code !== 0) {
          return yield* new LeaseCleanupFailed({ leaseId: lease.claim.leaseId, message: `removing ${dir} exited ${removed.status.code}: ${removed.stderr.trim()}` })
        }
      })).pipe(
        Effect.mapError((e) => e._tag === "LeaseCleanupFailed" ? e : new LeaseCleanupFailed({ leaseId: lease.claim.leaseId, message: describeError(e) })),
        Effect.zipRight(forget(lease.claim)),
        provide
      )

    // The claim may have been touched since `lease` was read: forget the current one,
    // but only if it still names the same lease on the same host.
    const forget = (known: Claim) =>
      claims.withLock(known.leaseId, Effect.gen(function* () {
        const current = yield* claims.get(known.leaseId)
        if (Option.isSome(current)) {
          const c = current.value
          if (c.provider !== known.provider || c.providerScope !== known.providerScope || c.cloudId !== known.cloudId) {
            return yield* new ClaimChanged({ leaseId: known.leaseId })
          }
          yield* claims.remove(c)
        }
        yield* keys.remove(known.leaseId)
      }))

    const backend: SshLeaseBackend = {
      kind: "ssh-lease",
      spec: staticSshSpec,
      providerScope: scope,
      selectorFlags: Option.match(settings.host, {
        onNone: () => [],
        onSome: (h) => ["--ssh-host", h, "--ssh-port", String(settings.port), "--ssh-user", settings.user, "--ssh-key", settings.keyPath]
      }),
      acquire: (req) => provide(acquire(req)),
      resolve: (req) => provide(Effect.gen(function* () {
        const claim = yield* findClaim({ id: req.id, provider: staticSshSpec.name, providerScope: scope })
        if (req.readOnly) return yield* targetOf(claim)
        yield* checkRepoBinding(claim, req.repoRoot, req.reclaim)
        const now = yield* nowIso
        const rebound = claim.repoRoot === req.repoRoot ? claim : { ...claim, repoRoot: req.repoRoot, claimedAt: now }
        if (rebound !== claim) yield* claims.replace(claim, rebound)
        return yield* targetOf(rebound)
      })),
      list: provide(Effect.map(claims.list, (all) => all
        .filter((c) => c.provider === staticSshSpec.name && c.providerScope === scope)
        .map((c) => leaseViewOf(c, { status: c.state, ...(c.ssh ? { host: c.ssh.host } : {}) })))),
      release,
      touch: (lease, state) => provide(Effect.gen(function* () {
        if (!canTransition(lease.claim.state, state)) {
          return yield* new LeaseStateConflict({ leaseId: lease.claim.leaseId, state: lease.claim.state, message: `cannot mark it ${state}` })
        }
        const now = yield* nowIso
        const next: Claim = { ...lease.claim, state, lastUsedAt: now }
        yield* claims.replace(lease.claim, next)
        return { ...lease, claim: next }
      })),
      cleanup: (req) => provide(staticSshCleanup({ scope, dryRun: req.dryRun, targetOf, release })),
      doctor: provide(staticSshDoctor(settings, privateKey))
    }
    return backend
  })
