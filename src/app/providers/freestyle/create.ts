/**
 * A `freestyle` warmup: the create-intent claim written before the VM is created, the create
 * itself, and the recovery of one that failed or lost its answer (the VM is found by its
 * generated name and deleted, or the claim is kept for `stop`).
 */
import { Duration, Effect, Either, Exit, Option, Ref } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { CLAIM_VERSION } from "../../../domain/claim.js"
import { type CrabboxError, ProviderError, UsageError } from "../../../domain/errors.js"
import type { LeaseView } from "../../../domain/leaseView.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import type { FreestyleApiError, FreestyleApiService, FreestyleVm } from "../../../ports/FreestyleApi.js"
import { nowIso } from "../../leases/clockTime.js"
import { runDetached } from "../../leases/detached.js"
import type { AcquireRequest } from "../backend.js"
import { type FreestyleContext, PROVIDER, VM_NAME } from "./context.js"
import { fromApiError } from "./errors.js"
import { leaseIdOf, newVmName } from "./names.js"
import { stateOf } from "./unclaimed.js"

const CLEANUP_BUDGET = Duration.seconds(30)

/** Freestyle refused the create: it made nothing. Any other failure may have made the VM. */
const refusedCreate = (e: FreestyleApiError) =>
  e.kind === "auth" || e.kind === "permission" || e.kind === "validation" || e.kind === "rate-limited" ||
  e.kind === "not-found" || e.kind === "redirect" || (e.kind === "http" && e.status !== undefined && e.status >= 400 && e.status < 500)

/** No answer came back (a timeout, a dropped connection): the server may still be making the VM. */
const unanswered = (e: FreestyleApiError) => e.kind === "timeout" || e.kind === "transport"

/** The `warmup` of a freestyle backend. */
export const freestyleWarmup = (ctx: FreestyleContext) => {
  const { settings, claims, stdio, api, scope, adoptHint, freeSlug, newClaim, toLeaseId, finishHint, vmsNamed } = ctx

  /** The create-intent claim of a warmup: written before the create, so a crash leaves it for stop and list. */
  const intentClaim = (req: AcquireRequest, name: string, createdAt: string): Claim => ({
    version: CLAIM_VERSION,
    leaseId: req.leaseId,
    // the VM name is unique and a valid slug; the lease's own slug goes to the fsb_ claim
    slug: name,
    provider: PROVIDER,
    providerScope: scope,
    state: "create-intent",
    repoRoot: req.repoRoot,
    createdAt,
    claimedAt: createdAt,
    lastUsedAt: createdAt,
    ttlSeconds: Math.round(Duration.toSeconds(req.ttl)),
    idleTimeoutSeconds: Math.round(Duration.toSeconds(req.idleTimeout)),
    keep: req.keep,
    labels: { target: "linux", [VM_NAME]: name, workdir: settings.workspace }
  })

  /** The intent as last written; after a failed write it is what the store still holds. */
  const updateIntent = (intent: Ref.Ref<Claim>, patch: Partial<Claim>) =>
    Effect.gen(function* () {
      const current = yield* Ref.get(intent)
      const next: Claim = { ...current, ...patch }
      yield* claims.replace(current, next)
      yield* Ref.set(intent, next)
    })

  const forgetIntent = (intent: Ref.Ref<Claim>) => Effect.flatMap(Ref.get(intent), claims.remove)

  /** Delete a VM whose acquire failed, then forget the intent; if the delete fails, the intent stays as recovery. */
  const rollback = (a: FreestyleApiService, vm: FreestyleVm, intent: Ref.Ref<Claim>) =>
    runDetached(a.deleteVm(vm.id).pipe(Effect.timeout(CLEANUP_BUDGET))).pipe(
      Effect.matchEffect({
        onSuccess: () => forgetIntent(intent).pipe(Effect.ignore),
        onFailure: (e) => Effect.gen(function* () {
          yield* updateIntent(intent, { state: "recovery", cloudId: vm.id }).pipe(Effect.ignore)
          const leaseId = (yield* Ref.get(intent)).leaseId
          yield* stdio.err(
            `crabbox: could not delete freestyle vm ${vm.id} after a failed acquire (${"message" in e ? e.message : "timed out"}); ` +
            `${finishHint(leaseId)} deletes it (or adopt it with ${adoptHint(leaseIdOf(vm.id))})`)
        })
      }))

  /**
   * The create failed. A refusal made nothing: the intent goes. Otherwise the VM may exist
   * (the request may have been carried out though its answer was lost), so it is looked up by
   * its generated name and deleted; only a confirmed outcome forgets the intent. Always fails.
   */
  const recoverCreate = (a: FreestyleApiService, intent: Ref.Ref<Claim>, name: string, e: FreestyleApiError) =>
    Effect.gen(function* () {
      if (refusedCreate(e)) {
        yield* forgetIntent(intent)
        return yield* fromApiError(e)
      }
      const leaseId = (yield* Ref.get(intent)).leaseId
      const cleaned = yield* Effect.either(Effect.gen(function* () {
        const found = vmsNamed(yield* a.listVms, name)
        for (const vm of found) yield* a.deleteVm(vm.id)
        return found.map((v) => v.id)
      }))
      if (Either.isLeft(cleaned)) {
        yield* updateIntent(intent, { state: "recovery" }).pipe(Effect.ignore)
        return yield* new ProviderError({
          provider: PROVIDER,
          message: `${e.message}; the create may have made vm ${name}, and finding or deleting it failed (${cleaned.left.message}); ` +
            `the claim is kept: ${finishHint(leaseId)} deletes the VM if it exists`
        })
      }
      if (cleaned.right.length > 0) {
        yield* forgetIntent(intent)
        return yield* new ProviderError({ provider: PROVIDER, message: `${e.message}; the VM it made (${cleaned.right.join(", ")}) was deleted again` })
      }
      if (unanswered(e)) {
        // no answer and no VM yet: the server may still be making it
        yield* updateIntent(intent, { state: "recovery" }).pipe(Effect.ignore)
        return yield* new ProviderError({
          provider: PROVIDER,
          message: `${e.message}; no vm ${name} is listed yet, but the create may still finish; ` +
            `the claim is kept: ${finishHint(leaseId)} deletes the VM if it appears and forgets the claim`
        })
      }
      yield* forgetIntent(intent)
      return yield* fromApiError(e)
    })

  const warmup = (req: AcquireRequest): Effect.Effect<LeaseView, CrabboxError> =>
    Effect.scoped(Effect.gen(function* () {
      if (Option.isSome(req.serverType)) {
        return yield* new UsageError({ message: `--type is not supported for provider=${PROVIDER}`, hint: "size the VM with --freestyle-vcpus and --freestyle-memory-gb" })
      }
      const a = yield* api
      const name = yield* newVmName(req.repoRoot.slice(req.repoRoot.lastIndexOf("/") + 1))
      const createdAt = yield* nowIso
      // Written before the create: a process killed during it leaves this claim, which
      // list shows and stop finishes (it finds the VM by its name).
      const written = intentClaim(req, name, createdAt)
      yield* claims.create(written)
      const intent = yield* Ref.make(written)
      yield* stdio.err(`provisioning provider=${PROVIDER} vm=${name}`)
      // The create itself is not interrupted (its answer would be lost); a failed one is
      // recovered by name, and a failure after it deletes the VM.
      const vm = yield* Effect.acquireRelease(
        a.createVm({ name, vcpus: settings.vcpus, memoryGB: settings.memoryGB }).pipe(
          Effect.catchAll((e) => recoverCreate(a, intent, name, e))),
        (created, exit) => Exit.isFailure(exit) ? rollback(a, created, intent) : Effect.void
      )
      yield* updateIntent(intent, { state: "provisioning", cloudId: vm.id })
      const leaseId = yield* toLeaseId(vm.id)
      const slug = req.slugRequested ? req.slug : yield* freeSlug(leaseId)
      const claim = newClaim({ leaseId, slug, vm, repoRoot: req.repoRoot, createdAt, ttl: req.ttl, idleTimeout: req.idleTimeout, keep: req.keep })
      yield* claims.create(claim)
      // The lease is claimed; a leftover intent names the same VM, which stop deletes once.
      yield* forgetIntent(intent).pipe(Effect.catchAll((e) =>
        stdio.err(`crabbox: could not remove the create-intent claim ${written.leaseId} (${e.message}); ${finishHint(written.leaseId)} removes it`)))
      return leaseViewOf(claim, { status: stateOf(vm) })
    }))

  return warmup
}
