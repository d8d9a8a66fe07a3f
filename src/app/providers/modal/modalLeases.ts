/**
 * Modal leases in the ClaimStore: the create-intent claim written before a sandbox may
 * exist, resolution of an id (slug, `cbx_` lease id, Modal sandbox id), adoption of a
 * crabbox-tagged sandbox this machine has no claim for, and the release that terminates
 * before it forgets.
 */
import { type Context, Effect, Either, Option } from "effect"
import { canTransition, type Claim, CLAIM_VERSION, type ClaimState } from "../../../domain/claim.js"
import { type CrabboxError, LeaseCleanupFailed, LeaseNotFound, UsageError } from "../../../domain/errors.js"
import { describeError } from "../../../domain/errorMessage.js"
import { isLeaseId, LeaseId } from "../../../domain/ids.js"
import { allocateSlug, normalizeSlug, slugFromLeaseId } from "../../../domain/slug.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { ModalClient, ModalSandbox } from "../../../ports/ModalClient.js"
import { checkRepoBinding, findClaim } from "../../leases/findClaim.js"
import { nowIso, nowMillis } from "../../leases/clockTime.js"
import type { ResolveRequest } from "../backend.js"
import { fromModalClient } from "./errors.js"
import type { ModalSettings } from "./settings.js"
import { DEFAULT_TIMEOUT_SECONDS, isCrabboxSandbox, OWNERSHIP_TAGS } from "./tags.js"
import { modalSpec } from "./spec.js"

export interface ModalLease {
  readonly claim: Claim
  /** false: built from the sandbox's tags for a look only (status or stop with no local claim) */
  readonly stored: boolean
}

export interface LeaseDeps {
  readonly claims: Context.Tag.Service<ClaimStore>
  readonly client: ModalClient
  readonly settings: ModalSettings
  readonly scope: string
}

export const claimLabels = (settings: ModalSettings, image: string): Record<string, string> =>
  ({ target: "linux", app: settings.app, image, server_type: image, workdir: settings.workdir })

/** What a sandbox's tags say about its lease, as a claim (not stored). */
export const claimFromTags = (deps: LeaseDeps, sandbox: ModalSandbox, repoRoot: string) =>
  Effect.gen(function* () {
    const lease = sandbox.tags["lease"] ?? ""
    if (!isLeaseId(lease)) {
      return yield* new UsageError({ message: `modal sandbox ${sandbox.id} has no crabbox lease tag; crabbox only uses sandboxes it created` })
    }
    const now = yield* nowIso
    const nowSeconds = Math.floor((yield* nowMillis) / 1000)
    const expires = Number(sandbox.tags["expires_at"])
    const image = sandbox.tags["image"] ?? deps.settings.image
    return {
      version: CLAIM_VERSION,
      leaseId: LeaseId.make(lease),
      slug: normalizeSlug(sandbox.tags["slug"] ?? "") || slugFromLeaseId(lease),
      provider: modalSpec.name,
      providerScope: deps.scope,
      cloudId: sandbox.id,
      state: "ready",
      repoRoot,
      createdAt: now,
      claimedAt: now,
      lastUsedAt: now,
      ttlSeconds: Number.isFinite(expires) && expires > nowSeconds ? expires - nowSeconds : DEFAULT_TIMEOUT_SECONDS,
      idleTimeoutSeconds: Number.isFinite(expires) && expires > nowSeconds ? expires - nowSeconds : DEFAULT_TIMEOUT_SECONDS,
      keep: sandbox.tags["keep"] === "true",
      labels: claimLabels(deps.settings, image)
    } satisfies Claim
  })

/** The crabbox sandbox of a lease id, found by its tags (finished sandboxes are not listed). */
export const sandboxesOfLease = (deps: LeaseDeps, leaseId: string) =>
  deps.client.list({ app: deps.settings.app, tags: { lease: leaseId, provider: OWNERSHIP_TAGS.provider } }).pipe(
    Effect.map((found) => found.filter((sb) => isCrabboxSandbox(sb.tags))),
    Effect.mapError(fromModalClient)
  )

/** A sandbox named by the user that has no local claim: found by lease tag or by Modal id, and only if crabbox tagged it. */
const findRemote = (deps: LeaseDeps, id: string): Effect.Effect<ModalSandbox, CrabboxError> =>
  Effect.gen(function* () {
    if (isLeaseId(id)) {
      const found = yield* sandboxesOfLease(deps, id)
      if (found.length === 0) return yield* new LeaseNotFound({ provider: modalSpec.name, id })
      return found[0]!
    }
    const sandbox = yield* deps.client.get(id.trim()).pipe(Effect.mapError(fromModalClient))
    if (Option.isNone(sandbox)) return yield* new LeaseNotFound({ provider: modalSpec.name, id })
    if (!isCrabboxSandbox(sandbox.value.tags)) {
      return yield* new UsageError({
        message: `modal sandbox ${sandbox.value.id} does not carry crabbox's tags (crabbox=true, provider=modal); crabbox only uses and stops sandboxes it created`
      })
    }
    return sandbox.value
  })

export const resolveLease = (deps: LeaseDeps, request: ResolveRequest): Effect.Effect<ModalLease, CrabboxError> =>
  Effect.gen(function* () {
    const local = yield* findClaim({ id: request.id, provider: modalSpec.name, providerScope: deps.scope }).pipe(
      Effect.map(Option.some),
      Effect.catchTag("LeaseNotFound", () => Effect.succeed(Option.none<Claim>())),
      Effect.provideService(ClaimStore, deps.claims)
    )
    if (Option.isSome(local)) {
      const claim = local.value
      if (request.readOnly) return { claim, stored: true }
      yield* checkRepoBinding(claim, request.repoRoot, request.reclaim)
      if (claim.repoRoot === request.repoRoot) return { claim, stored: true }
      const rebound: Claim = { ...claim, repoRoot: request.repoRoot, claimedAt: yield* nowIso }
      yield* deps.claims.replace(claim, rebound)
      return { claim: rebound, stored: true }
    }
    const sandbox = yield* findRemote(deps, request.id)
    const claim = yield* claimFromTags(deps, sandbox, request.repoRoot)
    if (request.readOnly) return { claim, stored: false }
    // a crabbox sandbox this machine has no claim for (created elsewhere): claim it here
    const taken = new Set((yield* deps.claims.list).map((c) => c.slug))
    const slug = yield* Either.match(allocateSlug(claim.leaseId, claim.slug, taken), { onLeft: Effect.fail, onRight: Effect.succeed })
    const adopted: Claim = { ...claim, slug }
    yield* deps.claims.create(adopted)
    return { claim: adopted, stored: true }
  })

/** Move a stored claim to `state` (and bump lastUsedAt), if the state machine allows it. */
export const setState = (deps: LeaseDeps, claim: Claim, state: ClaimState) =>
  Effect.gen(function* () {
    if (!canTransition(claim.state, state)) return claim
    const next: Claim = { ...claim, state, lastUsedAt: yield* nowIso }
    yield* deps.claims.replace(claim, next)
    return next
  })

/**
 * Terminate the lease's sandbox (by its id, or by lease tag while the claim never learned
 * it), then forget the claim. If Modal cannot confirm, the claim stays as `recovery` and
 * a later `crabbox stop` finishes the job.
 */
export const releaseLease = (deps: LeaseDeps, lease: ModalLease): Effect.Effect<void, CrabboxError> =>
  Effect.gen(function* () {
    const claim = lease.claim
    const terminate = Effect.gen(function* () {
      const ids = claim.cloudId !== undefined ? [claim.cloudId] : (yield* sandboxesOfLease(deps, claim.leaseId)).map((sb) => sb.id)
      for (const id of ids) {
        yield* deps.client.terminate(id).pipe(
          // only Modal knowing no sandbox of this id counts as gone (see ModalClient.terminate);
          // any other failure keeps the claim, as recovery
          Effect.catchIf((e) => e.kind === "not-found", () => Effect.void),
          Effect.mapError(fromModalClient)
        )
      }
    })
    if (!lease.stored) return yield* terminate
    yield* deps.claims.withLock(claim.leaseId, Effect.gen(function* () {
      const current = Option.getOrElse(yield* deps.claims.get(claim.leaseId), () => claim)
      const releasing = yield* setState(deps, current, "releasing")
      yield* terminate.pipe(Effect.catchAll((e) =>
        setState(deps, releasing, "recovery").pipe(
          Effect.ignore,
          Effect.zipRight(Effect.fail(new LeaseCleanupFailed({ leaseId: claim.leaseId, message: describeError(e) })))
        )))
      const stored = yield* deps.claims.get(claim.leaseId)
      if (Option.isSome(stored)) yield* deps.claims.remove(stored.value)
    }))
  })
