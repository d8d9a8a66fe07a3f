/**
 * `crabbox stop --forget-unverified`: drop a claim whose create was never confirmed (no
 * instance id is known and none can be learned any more). It deletes nothing and calls no
 * API; it refuses any claim that records a machine, since forgetting that would leave a
 * billable resource untracked.
 */
import { Effect, Option } from "effect"
import { ACQUIRE_WINDOW_MS } from "../../domain/cleanupPlan.js"
import { parseRfc3339 } from "../../domain/leaseTiming.js"
import { nowMillis } from "../leases/clockTime.js"
import { UsageError } from "../../domain/errors.js"
import { ClaimStore } from "../../ports/ClaimStore.js"
import { KeyStore } from "../../ports/KeyStore.js"
import { Stdio } from "../../ports/Stdio.js"
import type { SshLeaseBackend } from "../providers/backend.js"

export const forgetUnverifiedWorkflow = (backend: SshLeaseBackend, id: string, repoRoot: string) =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const keys = yield* KeyStore
    const stdio = yield* Stdio
    const { claim } = yield* backend.resolve({ id, repoRoot, reclaim: false, readOnly: true })
    if (claim.cloudId !== undefined) {
      return yield* new UsageError({
        message: `lease ${claim.leaseId} records ${backend.spec.name} resource ${claim.cloudId}; --forget-unverified only drops claims whose create was never confirmed`,
        hint: `crabbox stop --provider ${backend.spec.name} ${claim.leaseId} deletes it`
      })
    }
    const started = parseRfc3339(claim.createdAt)
    const settled = claim.state === "recovery" || (Option.isSome(started) && (yield* nowMillis) - started.value >= ACQUIRE_WINDOW_MS)
    if (!settled) {
      return yield* new UsageError({
        message: `lease ${claim.leaseId} may still be settled by replaying its create`,
        hint: `crabbox stop --provider ${backend.spec.name} ${claim.leaseId} replays it and deletes what it made`
      })
    }
    yield* claims.withLock(claim.leaseId, Effect.zipRight(claims.remove(claim), keys.remove(claim.leaseId)))
    yield* stdio.err(`forgot lease=${claim.leaseId} slug=${claim.slug}: crabbox no longer tracks it; if the ${backend.spec.name} dashboard shows a machine of yours from that time, delete it there`)
  })
