/**
 * Cleanup for static hosts: only leases this machine's claims prove it owns, and only
 * once expired; a kept lease is never touched. Deleting means releasing the workdir, and
 * only if the claim is still the one the plan was made from (checked under the lease lock).
 */
import { Effect, Option } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { planCleanup } from "../../../domain/cleanupPlan.js"
import { describeError } from "../../../domain/errorMessage.js"
import type { CrabboxError } from "../../../domain/errors.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import { nowMillis } from "../../leases/clockTime.js"
import type { CleanupOutcome, LeaseTarget } from "../backend.js"
import { staticSshSpec } from "./spec.js"

export const staticSshCleanup = (input: {
  readonly scope: string
  readonly dryRun: boolean
  readonly targetOf: (claim: Claim) => Effect.Effect<LeaseTarget, CrabboxError>
  readonly release: (lease: LeaseTarget) => Effect.Effect<void, CrabboxError>
}) =>
  Effect.gen(function* () {
    const store = yield* ClaimStore
    const claims = yield* store.list
    const nowMs = yield* nowMillis
    // A static host is always there: the claim is the whole lease.
    const live = new Map(claims.map((c) => [c.leaseId, "present" as const]))
    const plan = planCleanup({ claims, live, nowMs, provider: staticSshSpec.name, providerScope: input.scope })
    return yield* Effect.forEach(plan, (item): Effect.Effect<CleanupOutcome> => {
      const base = {
        leaseId: item.claim.leaseId, slug: item.claim.slug, cloudId: item.claim.cloudId ?? null,
        action: item.action, reason: item.reason as string
      }
      if (input.dryRun || item.action === "skip") return Effect.succeed({ ...base, outcome: "planned" as const })
      const destroy = store.withLock(item.claim.leaseId, Effect.gen(function* () {
        const current = yield* store.get(item.claim.leaseId)
        // touched (a run started) or rewritten since the plan: leave it for the next sweep
        if (Option.isNone(current) || JSON.stringify(current.value) !== JSON.stringify(item.claim)) {
          return { ...base, action: "skip" as const, reason: "claim-changed", outcome: "planned" as const }
        }
        yield* input.release(yield* input.targetOf(current.value))
        return { ...base, outcome: "done" as const }
      }))
      return destroy.pipe(Effect.catchAll((e) => Effect.succeed({ ...base, outcome: "failed" as const, error: describeError(e) })))
    })
  })
