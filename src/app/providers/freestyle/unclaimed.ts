/**
 * Finding a Freestyle VM that no local claim knows (claim lost, or another machine's): by
 * `fsb_<id>`, or among crabbox-named VMs by raw id, exact name or the slug its lease id
 * derives. A VM without a crabbox name is never used or deleted.
 */
import { Effect, Option } from "effect"
import { LeaseNotFound, LeaseStateConflict } from "../../../domain/errors.js"
import { normalizeSlug, slugFromLeaseId } from "../../../domain/slug.js"
import type { LeaseView } from "../../../domain/leaseView.js"
import { UNKNOWN_EXPIRY } from "../../../domain/leaseViewOf.js"
import type { FreestyleApiService, FreestyleVm } from "../../../ports/FreestyleApi.js"
import { fromApiError } from "./errors.js"
import { isCrabboxVmName, LEASE_PREFIX, leaseIdOf } from "./names.js"
import { freestyleSpec } from "./spec.js"

const PROVIDER = freestyleSpec.name

export const stateOf = (vm: FreestyleVm) => vm.state.toLowerCase()

/** The slug a VM's lease id derives (what `list` shows for an unclaimed one). */
export const derivedSlug = (vmId: string) => slugFromLeaseId(leaseIdOf(vmId))

const vmByLeaseId = (a: FreestyleApiService, id: string) => {
  const raw = id.slice(LEASE_PREFIX.length)
  return raw === ""
    ? Effect.fail(new LeaseNotFound({ provider: PROVIDER, id }))
    : a.getVm(raw).pipe(Effect.mapError((e) => e.kind === "not-found" ? new LeaseNotFound({ provider: PROVIDER, id }) : fromApiError(e)))
}

/** Among crabbox VMs: a raw VM id, an exact VM name, or the slug its lease id derives. */
const vmByName = (a: FreestyleApiService, id: string) =>
  Effect.gen(function* () {
    const wanted = normalizeSlug(id)
    const matches = (yield* Effect.mapError(a.listVms, fromApiError)).filter((v) => Option.exists(v.name, isCrabboxVmName) &&
      (v.id === id || Option.contains(v.name, id) || (wanted !== "" && derivedSlug(v.id) === wanted)))
    if (matches.length === 0) return yield* new LeaseNotFound({ provider: PROVIDER, id })
    if (matches.length > 1) {
      return yield* new LeaseStateConflict({ leaseId: id, state: "ambiguous", message: `matches ${matches.length} VMs (${matches.map((v) => v.id).join(", ")}); use the fsb_ lease id` })
    }
    return matches[0]!
  })

/** The VM of an identifier no local claim knows; only a crabbox-named one is usable. */
export const findVm = (a: FreestyleApiService, id: string) =>
  (id.startsWith(LEASE_PREFIX) ? vmByLeaseId(a, id) : vmByName(a, id)).pipe(
    Effect.filterOrFail((vm) => Option.exists(vm.name, isCrabboxVmName), () => new LeaseStateConflict({
      leaseId: id, state: "foreign",
      message: "this VM was not created by crabbox (its name is not crabbox-...); crabbox will not use or delete it"
    })))

/** A crabbox VM nobody here has claimed: shown so it can be adopted or recognized. */
export const unclaimedView = (vm: FreestyleVm): LeaseView => ({
  leaseId: leaseIdOf(vm.id),
  slug: derivedSlug(vm.id),
  provider: PROVIDER,
  cloudId: vm.id,
  status: stateOf(vm),
  serverType: null,
  host: null,
  keep: false,
  target: "linux",
  repoRoot: "",
  createdAt: UNKNOWN_EXPIRY,
  lastUsedAt: UNKNOWN_EXPIRY,
  expiresAt: UNKNOWN_EXPIRY,
  labels: { vm_name: Option.getOrElse(vm.name, () => ""), claimed: "false" }
})

