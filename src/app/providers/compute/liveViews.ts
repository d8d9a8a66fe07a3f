/**
 * `list` for compute leases: this machine's claims only (never the account's other
 * instances), each refreshed with one GET. What the API cannot confirm is said plainly.
 */
import { Effect, Either } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { isNotFound } from "../../../domain/computeErrors.js"
import type { LeaseView } from "../../../domain/leaseView.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import type { ComputeApiService } from "../../../ports/ComputeApi.js"
import { bindingMatches } from "./credentialCheck.js"

export const liveView = (api: Either.Either<ComputeApiService, unknown>, claim: Claim): Effect.Effect<LeaseView> =>
  Effect.gen(function* () {
    if (claim.cloudId === undefined) return leaseViewOf(claim)
    if (Either.isLeft(api)) return leaseViewOf(claim, { status: "provider-verification-unavailable" })
    if (!bindingMatches(api.right, claim)) return leaseViewOf(claim, { status: "credential-binding-mismatch" })
    const live = yield* Effect.either(api.right.get(claim.cloudId))
    if (Either.isRight(live)) {
      const i = live.right
      return leaseViewOf(claim, { status: i.rawStatus || "unknown", host: i.host._tag === "Some" ? i.host.value : undefined, serverType: i.instanceType })
    }
    return leaseViewOf(claim, { status: isNotFound(live.left) ? "provider-absence-unverified" : "provider-verification-unavailable" })
  })

export const listLiveViews = (api: Either.Either<ComputeApiService, unknown>, claims: ReadonlyArray<Claim>) =>
  Effect.forEach(claims, (claim) => liveView(api, claim), { concurrency: 4 })
