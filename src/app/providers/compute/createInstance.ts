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
export const replayWindowOpen = (claim: Claim, timing: ComputeTiming) =>
  Effect.map(nowMillis, (now) =>
    Option.match(parseRfc3339(claim.createdAt), {
      onNone: () => false,
      onSome: (started) => now - started < Duration.toMillis(Duration.decode(timing.replayWindow))
    }))

export const pastWindowMessage = (provider: string, leaseId: string, instanceType: string) =>
  `the create for lease ${leaseId} may have succeeded but its answer was lost, and the idempotency window has passed, so nothing more is sent. ` +
  `Check the ${provider} dashboard for a ${instanceType} instance and delete it if it is yours, then drop the claim with: crabbox stop --provider ${provider} --forget-unverified ${leaseId}`

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
    // whether an instance may exist: after any ambiguous answer, or when recovering an older attempt
    let mayExist = !input.fresh
    const giveUp = (error: ComputeApiError) =>
      Effect.gen(function* () {
        if (!mayExist) {
          // every answer was a refusal (4xx, 429): nothing was made, nothing to own or keep
          const rejected = yield* updateClaim(claim, { labels: { [LABEL.createState]: "rejected" } })
          yield* claims.remove(rejected)
          yield* keys.remove(leaseId)
          return yield* error
        }
        // an attempt may have created it; only a confirmed replay can tell
        yield* updateClaim(claim, { labels: { [LABEL.createState]: "ambiguous" } })
        return yield* error
      })
    for (let attempt = 1; ; attempt++) {
      const stored = yield* claims.get(leaseId)
      if (Option.isNone(stored) || !sameStored(stored.value, claim) || claim.labels[LABEL.requestBinding] !== binding) {
        return yield* new ClaimChanged({ leaseId })
      }
      if (!(input.fresh && attempt === 1) && !(yield* replayWindowOpen(claim, timing))) {
        claim = yield* updateClaim(claim, { state: "recovery", labels: { [LABEL.createState]: "ambiguous" } })
        return yield* new LeaseCleanupFailed({ leaseId, message: pastWindowMessage(api.capabilities.provider, leaseId, request.instanceType) })
      }
      const count = Number(claim.labels[LABEL.createAttempts] ?? "0") + 1
      claim = yield* updateClaim(claim, { labels: { [LABEL.createState]: "inflight", [LABEL.createAttempts]: String(count) } })
      const result = yield* Effect.either(api.create(request, claim.labels[LABEL.idempotencyKey] ?? leaseId))
      if (Either.isRight(result)) {
        const instance = result.right
        claim = yield* updateClaim(claim, {
          // a stop or cleanup that is recovering keeps its state: it deletes next
          state: claim.state === "create-intent" ? "provisioning" : claim.state,
          cloudId: instance.id,
          labels: { [LABEL.createState]: "created" }
        })
        return { claim, instance }
      }
      const error = result.left
      const ambiguous = isAmbiguousCreateFailure(error)
      mayExist = mayExist || ambiguous
      // 429 refused the request; repeating it with the same key is safe, so wait and resend
      if (!ambiguous && error.kind !== "rate-limited") return yield* giveUp(error)
      if (attempt >= attempts) return yield* giveUp(error)
      claim = yield* updateClaim(claim, { labels: { [LABEL.createState]: mayExist ? "ambiguous" : "inflight" } })
      yield* Effect.sleep(error.retryAfterMs !== undefined
        ? Duration.min(Duration.millis(error.retryAfterMs), Duration.seconds(30))
        : timing.replaySpacing)
    }
  }).pipe(Effect.withSpan("compute.create"))
