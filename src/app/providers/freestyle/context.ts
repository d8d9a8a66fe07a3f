/**
 * What the parts of the `freestyle` backend share: the services, the API connection (made up
 * front), the claim scope, and the helpers that find, name and build this provider's claims.
 */
import { Duration, Effect, Either, Option } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { CLAIM_VERSION } from "../../../domain/claim.js"
import { type CrabboxError, ProviderError, UsageError } from "../../../domain/errors.js"
import { isLeaseId, type LeaseId } from "../../../domain/ids.js"
import { shellQuote } from "../../../domain/shellQuote.js"
import { allocateSlug, slugFromLeaseId } from "../../../domain/slug.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { FreestyleApiError, FreestyleApiService, FreestyleVm } from "../../../ports/FreestyleApi.js"
import { FreestyleApis } from "../../../ports/FreestyleApi.js"
import { Stdio } from "../../../ports/Stdio.js"
import { matchClaims } from "../../leases/findClaim.js"
import { fromApiError, missingKey } from "./errors.js"
import { isCrabboxVmName, leaseIdOf } from "./names.js"
import type { FreestyleSettings } from "./settings.js"
import { DEFAULT_API_URL } from "./settings.js"
import { freestyleSpec } from "./spec.js"

export interface FreestyleBackendSettings extends FreestyleSettings {
  /** for leases adopted with --reclaim, which were not created with a --ttl */
  readonly ttl: Duration.Duration
  readonly idleTimeout: Duration.Duration
}

export const PROVIDER = freestyleSpec.name
/** the claim label naming the VM a create-intent claim is for (its only handle before the create answers) */
export const VM_NAME = "vm_name"

export const makeFreestyleContext = (settings: FreestyleBackendSettings) =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const stdio = yield* Stdio
    const apis = yield* FreestyleApis
    // Connected up front: a bad API URL is a usage error before anything else happens.
    const connected = yield* Option.match(settings.key, {
      onNone: () => Effect.succeed(Option.none<FreestyleApiService>()),
      onSome: (key) => Effect.map(apis.connect({ apiUrl: settings.apiUrl, apiUrlSource: settings.apiUrlSource, key }), Option.some)
    })
    const api: Effect.Effect<FreestyleApiService, CrabboxError> = Option.match(connected, {
      onNone: () => Effect.fail(missingKey()),
      onSome: Effect.succeed
    })
    const scope = `endpoint:${Option.match(connected, { onNone: () => settings.apiUrl, onSome: (a) => a.endpoint })}`
    const call = <A>(effect: Effect.Effect<A, FreestyleApiError>) => Effect.mapError(effect, fromApiError)

    const myClaims = Effect.map(claims.list, (all) => all.filter((c) => c.provider === PROVIDER && c.providerScope === scope))

    const adoptHint = (leaseId: string) =>
      `crabbox run --provider ${PROVIDER} --id ${leaseId} --reclaim --no-sync -- true`

    /** At most one local claim of this scope (lease id, slug or VM id). */
    const localClaim = (id: string) =>
      Effect.gen(function* () {
        if (id.trim() === "") return yield* new UsageError({ message: "lease identifier must not be blank" })
        const found = matchClaims(yield* myClaims, { id, provider: PROVIDER, providerScope: scope })
        if (found.length > 1) {
          return yield* new UsageError({ message: `identifier ${id} matches ${found.length} leases (${found.map((c) => c.leaseId).join(", ")})`, hint: "use the lease id" })
        }
        return Option.fromNullable(found[0])
      })

    const freeSlug = (leaseId: string) =>
      Effect.flatMap(claims.list, (all) => Either.match(allocateSlug(leaseId, slugFromLeaseId(leaseId), new Set(all.map((c) => c.slug))), {
        onLeft: Effect.fail, onRight: Effect.succeed
      }))

    const newClaim = (input: {
      leaseId: LeaseId; slug: string; vm: FreestyleVm; repoRoot: string; createdAt: string; ttl: Duration.Duration; idleTimeout: Duration.Duration; keep: boolean
    }): Claim => ({
      version: CLAIM_VERSION,
      leaseId: input.leaseId,
      slug: input.slug,
      provider: PROVIDER,
      providerScope: scope,
      cloudId: input.vm.id,
      state: "ready",
      repoRoot: input.repoRoot,
      createdAt: input.createdAt,
      claimedAt: input.createdAt,
      lastUsedAt: input.createdAt,
      ttlSeconds: Math.round(Duration.toSeconds(input.ttl)),
      idleTimeoutSeconds: Math.round(Duration.toSeconds(input.idleTimeout)),
      keep: input.keep,
      labels: { target: "linux", vm_name: Option.getOrElse(input.vm.name, () => ""), workdir: settings.workspace }
    })

    const toLeaseId = (vmId: string) => {
      const id = leaseIdOf(vmId)
      return isLeaseId(id)
        ? Effect.succeed(id)
        : Effect.fail(new ProviderError({ provider: PROVIDER, message: `VM id ${JSON.stringify(vmId)} cannot name a lease (letters, digits, - and _ only)` }))
    }

    /** pasteable: names the endpoint too when it is not the default (claims are scoped by it) */
    const finishHint = (leaseId: string) => [
      `crabbox stop --provider ${PROVIDER}`,
      ...Option.match(connected, { onNone: () => [], onSome: (c) => (c.endpoint === DEFAULT_API_URL ? [] : [`--freestyle-api-url ${shellQuote(c.endpoint)}`]) }),
      leaseId
    ].join(" ")

    /** The crabbox VMs with exactly this generated name (a claim that never learned its VM id). */
    const vmsNamed = (vms: ReadonlyArray<FreestyleVm>, name: string | undefined) =>
      name === undefined || !isCrabboxVmName(name) ? [] : vms.filter((v) => Option.contains(v.name, name))

    return {
      settings, claims, stdio, connected, api, scope, call, myClaims,
      adoptHint, localClaim, freeSlug, newClaim, toLeaseId, finishHint, vmsNamed
    }
  })

export type FreestyleContext = Effect.Effect.Success<ReturnType<typeof makeFreestyleContext>>
