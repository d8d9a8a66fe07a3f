/**
 * `freestyle` leases as the CLI sees them: `status` and `list` with the VMs' live state
 * (a create-intent claim finds its VM by generated name), and `stop`, which deletes only
 * what a local claim owns.
 */
import { Effect, Option } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { ClaimChanged, type CrabboxError, LeaseNotFound } from "../../../domain/errors.js"
import { idleForSeconds } from "../../../domain/leaseTiming.js"
import type { LeaseView, StatusView } from "../../../domain/leaseView.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import type { FreestyleApiService } from "../../../ports/FreestyleApi.js"
import { nowMillis } from "../../leases/clockTime.js"
import type { ResolveRequest } from "../backend.js"
import { type FreestyleContext, PROVIDER, VM_NAME } from "./context.js"
import { fromApiError } from "./errors.js"
import { isCrabboxVmName } from "./names.js"
import { findVm, stateOf, unclaimedView } from "./unclaimed.js"

/** The `status`, `stop` and `list` of a freestyle backend. */
export const freestyleLeases = (ctx: FreestyleContext) => {
  const { settings, claims, api, scope, call, myClaims, localClaim, vmsNamed } = ctx

  const liveState = (a: FreestyleApiService, vmId: string) =>
    a.getVm(vmId).pipe(
      Effect.map(stateOf),
      Effect.catchIf((e) => e.kind === "not-found", () => Effect.succeed("missing")),
      Effect.mapError(fromApiError))

  /** The live state of a claim's VM; a claim that never learned its VM id looks it up by name. */
  const claimState = (a: FreestyleApiService, claim: Claim) =>
    claim.cloudId !== undefined
      ? liveState(a, claim.cloudId)
      : Effect.map(call(a.listVms), (vms) => Option.match(Option.fromNullable(vmsNamed(vms, claim.labels[VM_NAME])[0]), {
        onNone: () => claim.state,
        onSome: stateOf
      }))

  const status = (req: ResolveRequest): Effect.Effect<StatusView, CrabboxError> =>
    Effect.gen(function* () {
      const a = yield* api
      const found = yield* localClaim(req.id)
      const nowMs = yield* nowMillis
      const view = Option.isSome(found)
        ? leaseViewOf(found.value, { status: yield* claimState(a, found.value) })
        : unclaimedView(yield* findVm(a, req.id))
      const claim = Option.getOrUndefined(found)
      return {
        ...view,
        ready: view.status === "running",
        hasHost: false,
        sshHost: null,
        sshPort: null,
        sshUser: null,
        sshKey: null,
        workdir: claim?.labels["workdir"] ?? settings.workspace,
        idleForSeconds: claim === undefined ? 0 : idleForSeconds(claim, nowMs),
        idleTimeoutSeconds: claim?.idleTimeoutSeconds ?? 0,
        ttlSeconds: claim?.ttlSeconds ?? 0
      }
    })

  const stop = (req: ResolveRequest): Effect.Effect<LeaseView, CrabboxError> =>
    Effect.gen(function* () {
      const a = yield* api
      const found = yield* localClaim(req.id)
      // Deleting needs the local proof of ownership, not just a crabbox-looking name.
      if (Option.isNone(found)) return yield* new LeaseNotFound({ provider: PROVIDER, id: req.id })
      const known = found.value
      return yield* claims.withLock(known.leaseId, Effect.gen(function* () {
        const current = yield* claims.get(known.leaseId)
        if (Option.isNone(current) || current.value.cloudId !== known.cloudId || current.value.providerScope !== scope) {
          return yield* new ClaimChanged({ leaseId: known.leaseId })
        }
        const releasing: Claim = current.value.state === "releasing" ? current.value : { ...current.value, state: "releasing" }
        if (releasing !== current.value) yield* claims.replace(current.value, releasing)
        // A create-intent that never learned its VM id: the VM, if the create made one, has its generated name.
        const doomed = releasing.cloudId !== undefined
          ? [releasing.cloudId]
          : vmsNamed(yield* call(a.listVms), releasing.labels[VM_NAME]).map((v) => v.id)
        for (const id of doomed) yield* call(a.deleteVm(id))
        yield* claims.remove(releasing)
        return leaseViewOf({ ...releasing, ...(doomed[0] === undefined ? {} : { cloudId: doomed[0] }) }, { status: "deleted" })
      }))
    })

  const list: Effect.Effect<ReadonlyArray<LeaseView>, CrabboxError> = Effect.gen(function* () {
    const a = yield* api
    const vms = yield* call(a.listVms)
    const mine = yield* myClaims
    const byId = new Map(vms.map((v) => [v.id, v]))
    // a claim without a VM id (a create-intent) owns the VM with its generated name
    const named = new Map(mine.filter((c) => c.cloudId === undefined).map((c) => [c, vmsNamed(vms, c.labels[VM_NAME])[0]]))
    const claimed = new Set([...mine.map((c) => c.cloudId), ...[...named.values()].map((v) => v?.id)])
    const viewOf = (c: Claim) => {
      if (c.cloudId === undefined) {
        const vm = named.get(c)
        return vm === undefined ? leaseViewOf(c) : leaseViewOf({ ...c, cloudId: vm.id }, { status: stateOf(vm) })
      }
      return leaseViewOf(c, { status: Option.match(Option.fromNullable(byId.get(c.cloudId)), { onNone: () => "missing", onSome: stateOf }) })
    }
    return [
      ...mine.map(viewOf),
      ...vms.filter((v) => !claimed.has(v.id) && Option.exists(v.name, isCrabboxVmName)).map(unclaimedView)
    ]
  })

  return { status, stop, list }
}
