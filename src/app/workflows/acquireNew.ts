/** Mint a lease id, choose a free slug, and let the backend acquire the machine. */
import { Duration, Effect, Either, Option } from "effect"
import { newLeaseId } from "../../domain/ids.js"
import { UsageError } from "../../domain/errors.js"
import { allocateSlug, normalizeSlug, slugFromLeaseId, validateRequestedSlug } from "../../domain/slug.js"
import { ClaimStore } from "../../ports/ClaimStore.js"
import type { SshLeaseBackend } from "../providers/backend.js"

export interface NewLeaseOptions {
  readonly slug: Option.Option<string>
  readonly keep: boolean
  readonly ttl: Duration.Duration
  readonly idleTimeout: Duration.Duration
  readonly repoRoot: string
  readonly serverType: Option.Option<string>
}

/** Pick the slug: a requested one must be free (exit 2 otherwise), a generated one gets a suffix. */
export const chooseSlug = (options: NewLeaseOptions) =>
  Effect.gen(function* () {
    const leaseId = yield* newLeaseId
    const claims = yield* (yield* ClaimStore).list
    const taken = new Set(claims.map((c) => normalizeSlug(c.slug)))
    if (Option.isSome(options.slug)) {
      const requested = yield* Either.match(validateRequestedSlug(options.slug.value), { onLeft: Effect.fail, onRight: Effect.succeed })
      if (taken.has(requested)) {
        return yield* new UsageError({
          message: `--slug ${requested} is already used by another lease`,
          hint: "pick another name, or stop that lease first (crabbox list shows them)"
        })
      }
      return { leaseId, slug: requested }
    }
    const base = slugFromLeaseId(leaseId)
    const slug = yield* Either.match(allocateSlug(leaseId, base, taken), { onLeft: Effect.fail, onRight: Effect.succeed })
    return { leaseId, slug }
  })

export const acquireNew = (backend: SshLeaseBackend, options: NewLeaseOptions) =>
  Effect.gen(function* () {
    const { leaseId, slug } = yield* chooseSlug(options)
    return yield* backend.acquire({ ...options, leaseId, slug })
  })
