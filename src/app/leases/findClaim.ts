/**
 * Resolve a user-given identifier (lease id, slug, provider id) to one local claim of
 * this provider and scope. Claims of another provider or scope are invisible.
 */
import { Effect } from "effect"
import type { Claim } from "../../domain/claim.js"
import { ClaimedByOtherRepo, LeaseNotFound, UsageError } from "../../domain/errors.js"
import { isLeaseId } from "../../domain/ids.js"
import { normalizeSlug } from "../../domain/slug.js"
import { ClaimStore } from "../../ports/ClaimStore.js"

export interface ClaimQuery {
  readonly id: string
  readonly provider: string
  readonly providerScope: string
}

/** Pure matching, in the reference order: exact lease id, then slug, then provider id. */
export const matchClaims = (claims: ReadonlyArray<Claim>, query: ClaimQuery): ReadonlyArray<Claim> => {
  const mine = claims.filter((c) => c.provider === query.provider && c.providerScope === query.providerScope)
  if (isLeaseId(query.id)) return mine.filter((c) => c.leaseId === query.id)
  const slug = normalizeSlug(query.id)
  const bySlug = slug === "" ? [] : mine.filter((c) => c.slug === slug)
  if (bySlug.length > 0) return bySlug
  return mine.filter((c) => c.cloudId !== undefined && c.cloudId === query.id)
}

export const findClaim = (query: ClaimQuery) =>
  Effect.gen(function* () {
    if (query.id.trim() === "") return yield* new UsageError({ message: "lease identifier must not be blank" })
    const claims = yield* (yield* ClaimStore).list
    const found = matchClaims(claims, query)
    if (found.length === 0) return yield* new LeaseNotFound({ provider: query.provider, id: query.id })
    if (found.length > 1) {
      return yield* new UsageError({
        message: `identifier ${query.id} matches ${found.length} leases (${found.map((c) => c.leaseId).join(", ")})`,
        hint: "use the lease id"
      })
    }
    return found[0]!
  })

/** A lease is bound to the repo that claimed it; another repo must say --reclaim. */
export const checkRepoBinding = (claim: Claim, repoRoot: string, reclaim: boolean) =>
  claim.repoRoot === repoRoot || reclaim
    ? Effect.void
    : Effect.fail(new ClaimedByOtherRepo({ leaseId: claim.leaseId, repo: claim.repoRoot, requestingRepo: repoRoot }))
