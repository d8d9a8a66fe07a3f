/**
 * The create call and its recovery. The claim already says `create-intent` (written
 * before any paid call). Each POST is marked `inflight` first and sent with the lease id
 * as idempotency key; an ambiguous outcome (5xx, timeout, lost response) is replayed with
 * the byte-identical request and the same key, only while the API's idempotency window
 * guarantees the replay cannot create a second instance. Past that window we fail closed:
 * the claim stays for `stop`/`cleanup` and for a human, and nothing is ever sent again.
 *
 * Everything runs under the lease lock, so a `cleanup` in another process waits for a live
 * create instead of racing it, and sees a dead one's claim as abandoned.
 */
import { Duration, Effect, Either, Option } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { isAmbiguousCreateFailure } from "../../../domain/computeErrors.js"
import { ClaimChanged, type ClaimStoreError, type ComputeApiError, type KeyStoreError, LeaseCleanupFailed } from "../../../domain/errors.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { ComputeApiService, ComputeInstance, CreateInstanceRequest } from "../../../ports/ComputeApi.js"
import { KeyStore } from "../../../ports/KeyStore.js"
import { nowMillis } from "../../leases/clockTime.js"
import { parseRfc3339 } from "../../../domain/leaseTiming.js"
import { LABEL, requestBinding } from "./claimLabels.js"
import { updateClaim } from "./claimUpdate.js"
import type { ComputeTiming } from "./settings.js"

export interface CreateOutcome {
  readonly claim: Claim
  readonly instance: ComputeInstance
}

const sameStored = (a: Claim, b: Claim) => JSON.stringify(a) === JSON.stringify(b)

/** Still inside the replay window, measured from the start of the first create request. */
const withinWindow = (claim: Claim, timing: ComputeTiming) =>
  Effect.map(nowMillis, (now) =>
    Option.match(parseRfc3339(claim.createdAt), {
      onNone: () => false,
      onSome: (started) => now - started < Duration.toMillis(Duration.decode(timing.replayWindow))
    }))

/** The request a claim was made for, rebuilt from its labels and the lease's stored key. */
export const requestOfClaim = (claim: Claim) =>
  Effect.gen(function* () {
    const key = yield* (yield* KeyStore).get(claim.leaseId)
    const type = claim.labels[LABEL.serverType]
    if (Option.isNone(key) || type === undefined) return Option.none<CreateInstanceRequest>()
    const request: CreateInstanceRequest = {
      instanceType: type,
      sshPublicKey: key.value.publicKey,
      sector: Option.fromNullable(claim.labels[LABEL.sector])
    }
    return requestBinding(request) === claim.labels[LABEL.requestBinding] ? Option.some(request) : Option.none()
  })

/**
 * Send the create (and replays) for `claim`. `fresh`: this is the acquire's own first
 * attempt, so a definitive refusal proves nothing exists and the claim and key go away.
 */
export const createWithRecovery = (input: {
  readonly api: ComputeApiService
  readonly claim: Claim
  readonly request: CreateInstanceRequest
  readonly timing: ComputeTiming
  readonly fresh: boolean
}): Effect.Effect<CreateOutcome, ComputeApiError | LeaseCleanupFailed | ClaimStoreError | ClaimChanged | KeyStoreError, ClaimStore | KeyStore> =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const keys = yield* KeyStore
    const { api, request, timing } = input
    const leaseId = input.claim.leaseId
    const binding = requestBinding(request)
    let claim = input.claim
    const attempts = 1 + timing.createReplays
    for (let attempt = 1; ; attempt++) {
      const stored = yield* claims.get(leaseId)
      if (Option.isNone(stored) || !sameStored(stored.value, claim) || claim.labels[LABEL.requestBinding] !== binding) {
        return yield* new ClaimChanged({ leaseId })
      }
      const replay = !(input.fresh && attempt === 1)
      if (replay && !(yield* withinWindow(claim, timing))) {
        claim = yield* updateClaim(claim, { state: "recovery", labels: { [LABEL.createState]: "ambiguous" } })
        return yield* new LeaseCleanupFailed({
          leaseId,
          message: `the create for lease ${leaseId} may have succeeded but its response was lost, and the idempotency window has passed; ` +
            `nothing more is sent. Check the ${api.capabilities.provider} dashboard for an instance of type ${request.instanceType}, delete it if it is yours, then forget the claim with crabbox stop`
        })
      }
      const count = Number(claim.labels[LABEL.createAttempts] ?? "0") + 1
      claim = yield* updateClaim(claim, { labels: { [LABEL.createState]: "inflight", [LABEL.createAttempts]: String(count) } })
      const result = yield* Effect.either(api.create(request, claim.labels[LABEL.idempotencyKey] ?? leaseId))
      if (Either.isRight(result)) {
        const instance = result.right
        claim = yield* updateClaim(claim, {
          state: claim.state === "recovery" ? "recovery" : "provisioning",
          cloudId: instance.id,
          labels: { [LABEL.createState]: "created" }
        })
        return { claim, instance }
      }
      const error = result.left
      if (!isAmbiguousCreateFailure(error)) {
        if (!replay) {
          // refused before anything was made: nothing to own, nothing to keep
          yield* updateClaim(claim, { labels: { [LABEL.createState]: "rejected" } }).pipe(
            Effect.flatMap((rejected) => claims.remove(rejected)))
          yield* keys.remove(leaseId)
          return yield* error
        }
        // an earlier attempt may have created it; only a confirmed replay can tell
        yield* updateClaim(claim, { labels: { [LABEL.createState]: "ambiguous" } })
        return yield* error
      }
      claim = yield* updateClaim(claim, { labels: { [LABEL.createState]: "ambiguous" } })
      if (attempt >= attempts) return yield* error
      yield* Effect.sleep(error.retryAfterMs !== undefined
        ? Duration.min(Duration.millis(error.retryAfterMs), Duration.seconds(30))
        : timing.replaySpacing)
    }
  }).pipe(Effect.withSpan("compute.create"))
