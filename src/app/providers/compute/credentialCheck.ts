/**
 * A claim is bound to the credential that created its instance (a hash, never the key).
 * Another key may take it over only by proving it sees that exact instance, by GET and
 * in a complete list; an instance whose id is not yet known can only be recovered with
 * the original key.
 */
import { Effect, Either } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { LeaseCleanupFailed } from "../../../domain/errors.js"
import type { ComputeApiService } from "../../../ports/ComputeApi.js"
import { LABEL } from "./claimLabels.js"
import { updateClaim } from "./claimUpdate.js"
import { listAll } from "./listAll.js"

export const bindingMatches = (api: ComputeApiService, claim: Claim): boolean =>
  claim.labels[LABEL.credentialBinding] === api.capabilities.credentialBinding

export const ensureCredentialBinding = (api: ComputeApiService, claim: Claim) =>
  Effect.gen(function* () {
    if (bindingMatches(api, claim)) return claim
    const provider = api.capabilities.provider
    if (claim.cloudId === undefined) {
      return yield* new LeaseCleanupFailed({
        leaseId: claim.leaseId,
        message: `lease ${claim.leaseId} was created with another ${provider} key and its instance id is not known; only that key can recover it`
      })
    }
    const id = claim.cloudId
    const seen = yield* Effect.either(api.get(id))
    const listed = Either.isRight(seen) ? yield* Effect.either(listAll(api)) : Either.right([])
    if (Either.isLeft(seen) || Either.isLeft(listed) || !listed.right.some((i) => i.id === id)) {
      return yield* new LeaseCleanupFailed({
        leaseId: claim.leaseId,
        message: `lease ${claim.leaseId} was created with another ${provider} key, and the current key cannot see instance ${id}; use the original key`
      })
    }
    return yield* updateClaim(claim, { labels: { [LABEL.credentialBinding]: api.capabilities.credentialBinding } })
  })
