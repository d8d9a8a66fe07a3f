/**
 * Cleanup for compute leases. Only instances a local claim proves this machine owns are
 * ever deleted (provider, endpoint scope, lease id, instance id, credential binding); keep,
 * TTL and idle timeout come from the shared planner. A create whose outcome was never
 * confirmed is finished here: its claim is locked while a live acquire is creating, so a
 * claim still `create-intent` once we hold the lock belongs to a dead process, and a
 * replay inside the idempotency window learns the id so the instance can be deleted.
 * `--dry-run` only reads.
 */
import { Effect, Either } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { planCleanup, type LiveState } from "../../../domain/cleanupPlan.js"
import { isNotFound } from "../../../domain/computeErrors.js"
import { describeError } from "../../../domain/errorMessage.js"
import type { LeaseId } from "../../../domain/ids.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { KeyStore } from "../../../ports/KeyStore.js"
import type { ComputeApiService } from "../../../ports/ComputeApi.js"
import { nowMillis } from "../../leases/clockTime.js"
import type { CleanupOutcome } from "../backend.js"
import { bindingMatches } from "./credentialCheck.js"
import { LABEL } from "./claimLabels.js"
import { replayWindowOpen } from "./createInstance.js"
import { destroyLease } from "./destroyLease.js"
import type { ComputeTiming } from "./settings.js"

/** A create whose outcome is unknown and can no longer be replayed. */
const pastReplayWindow = (claim: Claim, timing: ComputeTiming) =>
  claim.cloudId === undefined && claim.labels[LABEL.createState] !== "rejected" && claim.labels[LABEL.createAttempts] !== "0"
    ? Effect.map(replayWindowOpen(claim, timing), (open) => !open)
    : Effect.succeed(false)

const liveState = (api: ComputeApiService, claim: Claim): Effect.Effect<LiveState> =>
  claim.cloudId === undefined
    ? Effect.succeed("unknown")
    : Effect.either(api.get(claim.cloudId)).pipe(Effect.map((r) =>
      Either.isRight(r) ? "present" : isNotFound(r.left) ? "absent" : "unknown"))

export const computeCleanup = (input: {
  readonly api: ComputeApiService
  readonly provider: string
  readonly providerScope: string
  readonly timing: ComputeTiming
  readonly dryRun: boolean
}) =>
  Effect.gen(function* () {
    const store = yield* ClaimStore
    const mine = (yield* store.list).filter((c) => c.provider === input.provider && c.providerScope === input.providerScope)
    const nowMs = yield* nowMillis
    const live = new Map<LeaseId, LiveState>()
    for (const claim of mine) live.set(claim.leaseId, yield* liveState(input.api, claim))
    const planned = planCleanup({ claims: mine, live, nowMs, provider: input.provider, providerScope: input.providerScope })
    return yield* Effect.forEach(planned, (item): Effect.Effect<CleanupOutcome, never, ClaimStore | KeyStore> => Effect.gen(function* () {
      const claim = item.claim
      // An unconfirmed create is settled under the lock, whatever its age (see above); a dry
      // run cannot take the lock, so it shows the planner's age-based guess instead.
      const unconfirmed = claim.state === "create-intent" && !input.dryRun
      const action = unconfirmed ? "delete" as const : item.action
      const reason = unconfirmed ? "create-unconfirmed" : item.reason as string
      const base = { leaseId: claim.leaseId, slug: claim.slug, cloudId: claim.cloudId ?? null, action, reason }
      if (action !== "skip" && claim.cloudId === undefined && !bindingMatches(input.api, claim)) {
        return { ...base, action: "skip" as const, reason: "credential-binding-mismatch", outcome: "planned" as const }
      }
      if (action !== "skip" && (yield* pastReplayWindow(claim, input.timing))) {
        // only a human can settle it now: see the dashboard, then `stop --forget-unverified`
        return { ...base, action: "skip" as const, reason: "unconfirmed-create-past-window", outcome: "planned" as const }
      }
      if (input.dryRun || action === "skip") return { ...base, outcome: "planned" as const }
      const settle = store.withLock(claim.leaseId, Effect.gen(function* () {
        const current = yield* store.get(claim.leaseId)
        // a run touched it, or an acquire moved on, since the plan: leave it for the next sweep
        if (current._tag === "None" || JSON.stringify(current.value) !== JSON.stringify(claim)) {
          return { ...base, action: "skip" as const, reason: "claim-changed", outcome: "planned" as const }
        }
        yield* destroyLease({ api: input.api, timing: input.timing, providerScope: input.providerScope }, current.value)
        return { ...base, outcome: "done" as const }
      }))
      return yield* settle.pipe(Effect.catchAll((e) => Effect.succeed({ ...base, outcome: "failed" as const, error: describeError(e) })))
    }))
  })
