/**
 * Cleanup for static hosts: only leases this machine's claims prove it owns, and only
 * once expired; a kept lease is never touched. Deleting means releasing the workdir.
 */
import { Effect } from "effect"
import type { Claim } from "../../../domain/claim.js"
import type { CrabboxError } from "../../../domain/errors.js"
import { planCleanup } from "../../../domain/cleanupPlan.js"
import { describeError } from "../../../domain/errorMessage.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import { nowMillis } from "../../leases/clockTime.js"
import type { CleanupOutcome, LeaseTarget } from "../backend.js"
import { staticSshSpec } from "./spec.js"

export const staticSshCleanup = (input: {
  readonly scope: string
  readonly dryRun: boolean
  readonly targetOf: (claim: Claim) => Effect.Effect<LeaseTarget, CrabboxError, any>
  readonly release: (lease: LeaseTarget) => Effect.Effect<void, CrabboxError, any>
}) =>
  Effect.gen(function* () {
    const claims = yield* (yield* ClaimStore).list
    const nowMs = yield* nowMillis
    // A static host is always there: the claim is the whole lease.
    const live = new Map(claims.map((c) => [c.leaseId, "present" as const]))
    const plan = planCleanup({ claims, live, nowMs, provider: staticSshSpec.name, providerScope: input.scope })
    return yield* Effect.forEach(plan, (item): Effect.Effect<CleanupOutcome, never, any> => {
      const base = {
        leaseId: item.claim.leaseId, slug: item.claim.slug, cloudId: item.claim.cloudId ?? null,
        action: item.action, reason: item.reason
      }
      if (input.dryRun || item.action === "skip") return Effect.succeed({ ...base, outcome: "planned" as const })
      return input.targetOf(item.claim).pipe(
        Effect.flatMap(input.release),
        Effect.as({ ...base, outcome: "done" as const }),
        Effect.catchAll((e) => Effect.succeed({ ...base, outcome: "failed" as const, error: describeError(e) }))
      )
    })
  })
