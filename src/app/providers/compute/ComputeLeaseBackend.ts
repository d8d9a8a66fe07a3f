/**
 * The one generic SSH-lease backend over a `ComputeApi`: fal is this backend plus the fal
 * adapter, its spec and its config; the next GPU cloud is another adapter. Ownership
 * lives only in local claims, scoped by the API endpoint and bound to the credential.
 */
import { Effect, Either, Option, Redacted } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { canTransition, isUsable } from "../../../domain/claim.js"
import { CredentialsMissing, LeaseStateConflict } from "../../../domain/errors.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { ComputeApiService } from "../../../ports/ComputeApi.js"
import { KeyStore } from "../../../ports/KeyStore.js"
import { SshTransport } from "../../../ports/SshTransport.js"
import { Stdio } from "../../../ports/Stdio.js"
import { checkRepoBinding, findClaim } from "../../leases/findClaim.js"
import { nowIso } from "../../leases/clockTime.js"
import type { LeaseTarget, SshLeaseBackend } from "../backend.js"
import { acquireComputeLease } from "./acquire.js"
import { computeCleanup } from "./computeCleanup.js"
import { computeDoctor } from "./computeDoctor.js"
import { ensureCredentialBinding } from "./credentialCheck.js"
import { destroyLease } from "./destroyLease.js"
import { listLiveViews } from "./liveViews.js"
import type { ComputeLeaseSettings } from "./settings.js"

type Services = ClaimStore | KeyStore | SshTransport | Stdio

export const computeScope = (endpoint: string) => `endpoint:${endpoint}`

export const makeComputeLeaseBackend = (
  settings: ComputeLeaseSettings,
  /** Left when the credential is missing: everything but doctor and list fails with it */
  api: Either.Either<ComputeApiService, CredentialsMissing>,
  /** the endpoint as configured, for the scope even when the key is missing */
  endpoint: string
) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<Services>()
    const provide = <A, E>(effect: Effect.Effect<A, E, Services>) => Effect.provide(effect, context)
    const claims = yield* ClaimStore
    const keys = yield* KeyStore
    const provider = settings.spec.name
    const providerScope = computeScope(endpoint)
    const requireApi = Either.match(api, { onLeft: Effect.fail, onRight: Effect.succeed })
    const destroyInput = (a: ComputeApiService) => ({ api: a, timing: settings.timing, providerScope })

    const targetOf = (claim: Claim) =>
      Effect.gen(function* () {
        const key = yield* keys.get(claim.leaseId)
        const ssh = claim.ssh ?? { host: "", ...settings.ssh }
        return {
          claim,
          ssh: {
            ...ssh,
            // a claim without a key cannot log in; the SSH layer reports that plainly
            privateKey: Option.match(key, { onNone: () => Redacted.make(""), onSome: (k) => k.privateKey }),
            privateKeyPath: Option.flatMap(key, (k) => k.privateKeyPath),
            knownHostsPath: yield* keys.knownHostsPath(claim.leaseId),
            pinnedHostKey: ssh.host === "" ? Option.none() : yield* keys.pinnedHostKey(claim.leaseId, ssh.host, ssh.port)
          }
        } satisfies LeaseTarget
      })

    const resolve: SshLeaseBackend["resolve"] = (req) => provide(Effect.gen(function* () {
      const claim = yield* findClaim({ id: req.id, provider, providerScope })
      if (req.readOnly) return yield* targetOf(claim)
      if (!isUsable(claim.state) || claim.ssh === undefined) {
        return yield* new LeaseStateConflict({ leaseId: claim.leaseId, state: claim.state, message: "it is not ready; see crabbox status, or release it with crabbox stop" })
      }
      yield* checkRepoBinding(claim, req.repoRoot, req.reclaim)
      const bound = yield* ensureCredentialBinding(yield* requireApi, claim)
      const now = yield* nowIso
      const rebound = bound.repoRoot === req.repoRoot ? bound : { ...bound, repoRoot: req.repoRoot, claimedAt: now }
      if (rebound !== bound) yield* claims.replace(bound, rebound)
      return yield* targetOf(rebound)
    }))

    const backend: SshLeaseBackend = {
      kind: "ssh-lease",
      spec: settings.spec,
      providerScope,
      selectorFlags: settings.selectorFlags,
      acquire: (req) => provide(Effect.gen(function* () {
        const a = yield* requireApi
        const claim = yield* acquireComputeLease({ api: a, settings, providerScope }, req)
        return yield* targetOf(claim)
      })),
      resolve,
      list: provide(Effect.gen(function* () {
        const mine = (yield* claims.list).filter((c) => c.provider === provider && c.providerScope === providerScope)
        return yield* listLiveViews(api, mine)
      })),
      release: (lease) => provide(Effect.flatMap(requireApi, (a) => destroyLease(destroyInput(a), lease.claim))),
      // local bookkeeping only: no provider call
      touch: (lease, state) => provide(Effect.gen(function* () {
        if (!canTransition(lease.claim.state, state)) {
          return yield* new LeaseStateConflict({ leaseId: lease.claim.leaseId, state: lease.claim.state, message: `cannot mark it ${state}` })
        }
        const next: Claim = { ...lease.claim, state, lastUsedAt: yield* nowIso }
        yield* claims.replace(lease.claim, next)
        return { ...lease, claim: next }
      })),
      cleanup: (req) => provide(Effect.flatMap(requireApi, (a) =>
        computeCleanup({ api: a, provider, providerScope, timing: settings.timing, dryRun: req.dryRun }))),
      doctor: computeDoctor(provider, api)
    }
    return backend
  })
