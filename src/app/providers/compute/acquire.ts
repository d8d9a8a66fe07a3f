/**
 * Acquire a compute lease: per-lease key; a durable create-intent claim before any paid
 * call; create (with idempotent recovery); poll until ready; wait for SSH; mark ready.
 * Rollback is a finalizer that sees how the acquire ended: on failure or interrupt
 * (Ctrl-C) a half-made instance is deleted unless --keep, and whatever cannot be proven
 * gone stays as a recovery claim with a printed hint.
 */
import { Duration, Effect, Either, Exit, Option, Schedule } from "effect"
import { CLAIM_VERSION, type Claim } from "../../../domain/claim.js"
import { describeError } from "../../../domain/errorMessage.js"
import { LeaseCleanupFailed, ReadinessTimedOut } from "../../../domain/errors.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { ComputeApiService, CreateInstanceRequest } from "../../../ports/ComputeApi.js"
import { KeyStore } from "../../../ports/KeyStore.js"
import { SshTransport } from "../../../ports/SshTransport.js"
import { Stdio } from "../../../ports/Stdio.js"
import { nowIso } from "../../leases/clockTime.js"
import { runDetached } from "../../leases/detached.js"
import type { AcquireRequest } from "../backend.js"
import { LABEL, requestBinding } from "./claimLabels.js"
import { updateClaim } from "./claimUpdate.js"
import { createWithRecovery } from "./createInstance.js"
import { destroyLease } from "./destroyLease.js"
import type { ComputeLeaseSettings, MachineChoice } from "./settings.js"
import { pollSchedule, waitForInstance } from "./waitReady.js"

export interface AcquireInput {
  readonly api: ComputeApiService
  readonly settings: ComputeLeaseSettings
  readonly providerScope: string
}

const intentClaim = (input: AcquireInput, req: AcquireRequest, request: CreateInstanceRequest, now: string): Claim => ({
  version: CLAIM_VERSION,
  leaseId: req.leaseId,
  slug: req.slug,
  provider: input.settings.spec.name,
  providerScope: input.providerScope,
  state: "create-intent",
  repoRoot: req.repoRoot,
  createdAt: now,
  claimedAt: now,
  lastUsedAt: now,
  ttlSeconds: Math.round(Duration.toSeconds(req.ttl)),
  idleTimeoutSeconds: Math.round(Duration.toSeconds(req.idleTimeout)),
  keep: req.keep,
  labels: {
    [LABEL.target]: "linux",
    [LABEL.serverType]: request.instanceType,
    ...Option.match(request.sector, { onNone: () => ({}), onSome: (sector) => ({ [LABEL.sector]: sector }) }),
    [LABEL.endpoint]: input.api.capabilities.endpoint,
    [LABEL.credentialBinding]: input.api.capabilities.credentialBinding,
    [LABEL.requestBinding]: requestBinding(request),
    [LABEL.idempotencyKey]: req.leaseId,
    [LABEL.createState]: "inflight",
    [LABEL.createAttempts]: "0"
  }
})

const stopHint = (input: AcquireInput, leaseId: string) =>
  `crabbox stop --provider ${input.settings.spec.name} ${[...input.settings.selectorFlags, leaseId].join(" ")}`

/** The longest a rollback may take; what is left unproven then stays for stop and cleanup. */
const ROLLBACK_LIMIT = "3 minutes"

/**
 * Runs on failure or interrupt. It runs detached from the finalizer (which is
 * uninterruptible) so its own timeouts still fire, and it is bounded as a whole.
 * Never fails: it reports instead.
 */
const rollback = (input: AcquireInput, leaseId: Claim["leaseId"], keep: boolean) =>
  runDetached(rollbackSteps(input, leaseId, keep).pipe(
    Effect.timeoutFail({
      duration: ROLLBACK_LIMIT,
      onTimeout: () => new LeaseCleanupFailed({ leaseId, message: `rollback did not finish within ${ROLLBACK_LIMIT}` })
    }),
    Effect.catchAll((e) =>
      Effect.flatMap(Stdio, (stdio) =>
        stdio.err(`could not roll back lease=${leaseId}: ${describeError(e)}; the claim stays for recovery: ${stopHint(input, leaseId)}`)))))

const rollbackSteps = (input: AcquireInput, leaseId: Claim["leaseId"], keep: boolean) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const stored = yield* (yield* ClaimStore).get(leaseId)
    if (Option.isNone(stored)) return yield* (yield* KeyStore).remove(leaseId)
    const claim = stored.value
    if (keep && claim.cloudId !== undefined) {
      yield* updateClaim(claim, { labels: { [LABEL.acquireFailed]: "true" } })
      return yield* stdio.err(`kept lease=${leaseId} slug=${claim.slug} ${input.settings.spec.name}=${claim.cloudId} after a failed acquire (--keep); release it with: ${stopHint(input, leaseId)}`)
    }
    yield* stdio.err(`rolling back lease=${leaseId} slug=${claim.slug} ${input.settings.spec.name}=${claim.cloudId ?? "-"}`)
    yield* destroyLease({ api: input.api, timing: input.settings.timing, providerScope: input.providerScope }, claim)
    yield* stdio.err(`rolled back lease=${leaseId}: nothing left running`)
  })

export const acquireComputeLease = (input: AcquireInput, req: AcquireRequest) =>
  Effect.scoped(Effect.gen(function* () {
    const { api, settings } = input
    const provider = settings.spec.name
    const claims = yield* ClaimStore
    const keys = yield* KeyStore
    const stdio = yield* Stdio
    const machine: MachineChoice = yield* Either.match(settings.chooseMachine(req.serverType), { onLeft: Effect.fail, onRight: Effect.succeed })
    // the finalizer exists before the key and the claim do: an interrupt in between still removes them
    yield* Effect.addFinalizer((exit) => Exit.isSuccess(exit) ? Effect.void : rollback(input, req.leaseId, req.keep))
    const key = yield* keys.ensure(req.leaseId)
    const request: CreateInstanceRequest = { instanceType: machine.instanceType, sshPublicKey: key.publicKey, sector: machine.sector }
    const intent = intentClaim(input, req, request, yield* nowIso)
    // The create phase holds the lease lock: another process's cleanup waits for it, never races it.
    const created = yield* claims.withLock(req.leaseId, Effect.gen(function* () {
      yield* claims.create(intent)
      yield* stdio.err(`${provider}: creating ${machine.instanceType}${Option.match(machine.sector, { onNone: () => "", onSome: (s) => ` in ${s}` })} for lease=${req.leaseId} slug=${req.slug}`)
      return yield* createWithRecovery({ api, claim: intent, request, timing: settings.timing, fresh: true })
    }))
    const instanceId = created.instance.id
    yield* stdio.err(`${provider}: created ${instanceId} for lease=${req.leaseId}`)
    const ready = yield* waitForInstance({ api, leaseId: req.leaseId, id: instanceId, timing: settings.timing })
    const ssh = { host: ready.host, port: settings.ssh.port, user: settings.ssh.user, workRoot: settings.ssh.workRoot }
    let claim = yield* updateClaim(created.claim, { ssh })
    yield* stdio.err(`${provider}: ${instanceId} ready at ${ssh.host}; waiting for SSH on port ${ssh.port}`)
    const transport = yield* SshTransport
    const sshTimeout = Duration.decode(settings.timing.sshTimeout)
    const hostKey = yield* transport.probe({
      host: ssh.host, port: ssh.port, user: ssh.user, privateKey: key.privateKey, connectTimeoutMs: 10_000
    }, "15 seconds").pipe(
      Effect.retry({
        schedule: pollSchedule(settings.timing.pollInterval).pipe(Schedule.upTo(sshTimeout)),
        // a changed host key is an attack or a bug, never "not ready yet"
        while: (e) => e._tag === "SshError"
      }),
      Effect.mapError((e) => e._tag === "SshError"
        ? new ReadinessTimedOut({ leaseId: req.leaseId, message: `ssh ${ssh.user}@${ssh.host}:${ssh.port} not answering after ${Duration.format(sshTimeout)}: ${e.message}` })
        : e)
    )
    yield* keys.pinHostKey(req.leaseId, ssh.host, ssh.port, hostKey)
    claim = yield* updateClaim(claim, { state: "ready" })
    yield* stdio.err(`provisioned lease=${req.leaseId} ${provider}=${instanceId} state=ready`)
    return claim
  })).pipe(Effect.withSpan("compute.acquire"))
