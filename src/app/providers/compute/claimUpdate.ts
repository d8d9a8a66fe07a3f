/** Compare-and-swap edits of one lease's claim, returning the claim as now stored. */
import { Effect } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import { nowIso } from "../../leases/clockTime.js"

export const updateClaim = (current: Claim, patch: Partial<Omit<Claim, "labels">> & { readonly labels?: Readonly<Record<string, string | undefined>> }) =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const labels: Record<string, string> = { ...current.labels }
    for (const [name, value] of Object.entries(patch.labels ?? {})) {
      if (value === undefined) delete labels[name]
      else labels[name] = value
    }
    const next: Claim = { ...current, ...patch, labels, lastUsedAt: patch.lastUsedAt ?? (yield* nowIso) }
    yield* claims.replace(current, next)
    return next
  })
