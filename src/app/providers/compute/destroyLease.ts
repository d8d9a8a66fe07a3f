/**
 * Give a compute lease back: delete its instance and forget the claim and key only once
 * absence is confirmed (GET 404, missing from a complete list, GET 404 again). A 404 alone
 * is never taken as proof. When anything is left unproven the claim stays, marked
 * `recovery`, so `stop` or `cleanup` can finish later. Runs under the lease lock.
 */
import { Duration, Effect, Either, Option, Schedule } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { isNotFound } from "../../../domain/computeErrors.js"
import { describeError } from "../../../domain/errorMessage.js"
import { ClaimChanged, type ComputeApiError, LeaseCleanupFailed } from "../../../domain/errors.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { ComputeApiService } from "../../../ports/ComputeApi.js"
import { KeyStore } from "../../../ports/KeyStore.js"
import { LABEL } from "./claimLabels.js"
import { updateClaim } from "./claimUpdate.js"
import { createWithRecovery, requestOfClaim } from "./createInstance.js"
import { ensureCredentialBinding } from "./credentialCheck.js"
import { listAll } from "./listAll.js"
import type { ComputeTiming } from "./settings.js"

class StillPresent {
  readonly _tag = "StillPresent"
}

/** One confirmation round; fails with StillPresent (or the API error) until all three checks agree. */
const absentOnce = (api: ComputeApiService, id: string): Effect.Effect<void, StillPresent | ComputeApiError> =>
  Effect.gen(function* () {
    const first = yield* Effect.either(api.get(id))
    if (Either.isRight(first)) return yield* Effect.fail(new StillPresent())
    if (!isNotFound(first.left)) return yield* first.left
    const all = yield* listAll(api)
    if (all.some((i) => i.id === id)) return yield* Effect.fail(new StillPresent())
    const second = yield* Effect.either(api.get(id))
    if (Either.isRight(second)) return yield* Effect.fail(new StillPresent())
    if (!isNotFound(second.left)) return yield* second.left
  })

export const confirmAbsent = (api: ComputeApiService, id: string, timing: ComputeTiming) =>
  absentOnce(api, id).pipe(
    Effect.retry(Schedule.spaced(timing.confirmInterval).pipe(Schedule.upTo(Duration.decode(timing.confirmTimeout)))),
    Effect.either
  )

export interface DestroyInput {
  readonly api: ComputeApiService
  readonly timing: ComputeTiming
  readonly providerScope: string
}

/** The instance id behind a claim: known, or learned by replaying its unconfirmed create. */
const knownInstance = (input: DestroyInput, claim: Claim) =>
  Effect.gen(function* () {
    if (claim.cloudId !== undefined) return Option.some(claim)
    // refused, or never sent (the process stopped between the intent and the POST): nothing exists
    if (claim.labels[LABEL.createState] === "rejected" || claim.labels[LABEL.createAttempts] === "0") return Option.none<Claim>()
    const request = yield* requestOfClaim(claim)
    if (Option.isNone(request)) {
      yield* updateClaim(claim, { state: "recovery" })
      return yield* new LeaseCleanupFailed({
        leaseId: claim.leaseId,
        message: `cannot rebuild the create request of lease ${claim.leaseId} (key or request binding missing); check the provider dashboard`
      })
    }
    const outcome = yield* createWithRecovery({ api: input.api, claim, request: request.value, timing: input.timing, fresh: false })
    return Option.some(outcome.claim)
  })

export const destroyLease = (input: DestroyInput, known: Claim) =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const keys = yield* KeyStore
    const { api } = input
    return yield* claims.withLock(known.leaseId, Effect.gen(function* () {
      const stored = yield* claims.get(known.leaseId)
      if (Option.isNone(stored)) return yield* keys.remove(known.leaseId)
      let claim = stored.value
      if (claim.provider !== known.provider || claim.providerScope !== input.providerScope ||
        (known.cloudId !== undefined && claim.cloudId !== known.cloudId)) {
        return yield* new ClaimChanged({ leaseId: known.leaseId })
      }
      claim = yield* ensureCredentialBinding(api, claim)
      // from here on the lease is on its way out: if anything below fails, cleanup forces it
      if (claim.state !== "releasing" && claim.state !== "recovery") claim = yield* updateClaim(claim, { state: "releasing" })
      const withId = yield* knownInstance(input, claim)
      if (Option.isNone(withId)) {
        yield* claims.remove(claim)
        return yield* keys.remove(claim.leaseId)
      }
      claim = withId.value
      const id = claim.cloudId!
      const current = yield* Effect.either(api.get(id))
      if (Either.isLeft(current) && !isNotFound(current.left)) return yield* current.left
      if (Either.isRight(current)) {
        claim = yield* updateClaim(claim, { labels: { [LABEL.deleteState]: "attempted" } })
        const deleted = yield* Effect.either(api.delete(id))
        if (Either.isLeft(deleted) && !isNotFound(deleted.left)) {
          yield* updateClaim(claim, { state: "recovery" })
          return yield* deleted.left
        }
        claim = yield* updateClaim(claim, { labels: { [LABEL.deleteState]: "accepted" } })
      }
      const absent = yield* confirmAbsent(api, id, input.timing)
      if (Either.isLeft(absent)) {
        yield* updateClaim(claim, { state: "recovery" })
        const why = absent.left instanceof StillPresent ? "it is still listed" : describeError(absent.left)
        return yield* new LeaseCleanupFailed({
          leaseId: claim.leaseId,
          message: `instance ${id} not confirmed deleted (${why}); the claim stays for crabbox stop or cleanup`
        })
      }
      yield* claims.remove(claim)
      yield* keys.remove(claim.leaseId)
    }))
  }).pipe(Effect.withSpan("compute.destroy"))
