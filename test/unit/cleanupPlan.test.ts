import { assert, describe, it } from "@effect/vitest"
import type { Claim, ClaimState } from "../../src/domain/claim.js"
import { type CleanupInput, type LiveState, planCleanup } from "../../src/domain/cleanupPlan.js"
import { LeaseId } from "../../src/domain/ids.js"

const T0 = Date.UTC(2024, 4, 1, 10, 0)
const iso = (ms: number) => new Date(ms).toISOString()
const MIN = 60_000
const HOUR = 60 * MIN

/** A ready fal lease created at T0 (ttl 90 min, idle 30 min), so it expires at T0 + 30 min. */
const aClaim = (n: number, overrides: Partial<Claim> = {}): Claim => ({
  version: 1,
  leaseId: LeaseId.make(`cbx_${n.toString(16).padStart(12, "0")}`),
  slug: `lease-${n}`,
  provider: "fal",
  providerScope: "endpoint:a",
  cloudId: `inst-${n}`,
  state: "ready",
  repoRoot: "/repo",
  createdAt: iso(T0),
  claimedAt: iso(T0),
  lastUsedAt: iso(T0),
  ttlSeconds: 90 * 60,
  idleTimeoutSeconds: 30 * 60,
  keep: false,
  labels: {},
  ...overrides
})

const planOne = (claim: Claim, nowMs: number, live: LiveState = "present") => {
  const input: CleanupInput = {
    claims: [claim],
    live: new Map([[claim.leaseId, live]]),
    nowMs,
    provider: "fal",
    providerScope: "endpoint:a"
  }
  const [decision] = planCleanup(input)
  return decision === undefined ? undefined : { action: decision.action, reason: decision.reason }
}

describe("planCleanup", () => {
  it("leaves claims of another provider or scope out of the plan", () => {
    const plan = planCleanup({
      claims: [aClaim(1), aClaim(2, { provider: "ssh" }), aClaim(3, { providerScope: "endpoint:b" })],
      live: new Map(),
      nowMs: T0 + 10 * HOUR,
      provider: "fal",
      providerScope: "endpoint:a"
    })
    assert.deepStrictEqual(plan.map((d) => d.claim.slug), ["lease-1"])
  })

  it("skips a kept lease, however expired", () => {
    assert.deepStrictEqual(planOne(aClaim(1, { keep: true }), T0 + 100 * HOUR), { action: "skip", reason: "keep" })
  })

  it("deletes a ready lease once expired, naming the bound that hit", () => {
    assert.deepStrictEqual(planOne(aClaim(1), T0 + 29 * MIN), { action: "skip", reason: "not-expired" })
    assert.deepStrictEqual(planOne(aClaim(1), T0 + 30 * MIN), { action: "delete", reason: "idle" })
    const touched = aClaim(1, { lastUsedAt: iso(T0 + 80 * MIN) })
    assert.deepStrictEqual(planOne(touched, T0 + 89 * MIN), { action: "skip", reason: "not-expired" })
    assert.deepStrictEqual(planOne(touched, T0 + 90 * MIN), { action: "delete", reason: "ttl" })
  })

  it("gives running leases (and kept failed acquires) 12 hours past expiry", () => {
    for (const claim of [aClaim(1, { state: "running" }), aClaim(1, { state: "provisioning", labels: { acquire_failed: "true" } })]) {
      assert.deepStrictEqual(planOne(claim, T0 + 30 * MIN + 11 * HOUR), { action: "skip", reason: "grace" })
      assert.deepStrictEqual(planOne(claim, T0 + 30 * MIN + 12 * HOUR), { action: "delete", reason: "idle" })
    }
  })

  it("deletes a provisioning lease whose acquire died, even under keep, unless --keep kept a failed acquire", () => {
    const died = aClaim(1, { state: "provisioning", keep: true })
    assert.deepStrictEqual(planOne(died, T0 + 19 * MIN), { action: "skip", reason: "acquire-in-progress" })
    assert.deepStrictEqual(planOne(died, T0 + 20 * MIN), { action: "delete", reason: "stale-provisioning" })
    const kept = aClaim(1, { state: "provisioning", keep: true, labels: { acquire_failed: "true" } })
    assert.deepStrictEqual(planOne(kept, T0 + 20 * HOUR), { action: "skip", reason: "keep" })
  })

  it("forces recovery and releasing claims through keep and expiry", () => {
    for (const state of ["recovery", "releasing"] as const) {
      assert.deepStrictEqual(planOne(aClaim(1, { state, keep: true }), T0), { action: "delete", reason: state })
    }
  })

  it("waits 20 minutes for a create-intent, then cleans it even under keep", () => {
    const claim = aClaim(1, { state: "create-intent", keep: true })
    assert.deepStrictEqual(planOne(claim, T0 + 19 * MIN), { action: "skip", reason: "acquire-in-progress" })
    assert.deepStrictEqual(planOne(claim, T0 + 19 * MIN, "absent"), { action: "skip", reason: "acquire-in-progress" })
    assert.deepStrictEqual(planOne(claim, T0 + 20 * MIN), { action: "delete", reason: "stale-create-intent" })
    assert.deepStrictEqual(planOne(claim, T0 + 20 * MIN, "unknown"), { action: "delete", reason: "stale-create-intent" })
  })

  it("does not trust absence while a provisioning lease may still be appearing", () => {
    const claim = aClaim(1, { state: "provisioning" })
    assert.deepStrictEqual(planOne(claim, T0 + 5 * MIN, "absent"), { action: "skip", reason: "acquire-in-progress" })
    assert.deepStrictEqual(planOne(claim, T0 + 20 * MIN, "absent"), { action: "forget", reason: "absent" })
  })

  it("forgets a claim whose resource is confirmed gone, kept or not", () => {
    const states: ReadonlyArray<ClaimState> = ["ready", "running", "recovery", "releasing"]
    for (const state of states) {
      assert.deepStrictEqual(planOne(aClaim(1, { state, keep: true }), T0, "absent"), { action: "forget", reason: "absent" })
    }
    assert.deepStrictEqual(
      planOne(aClaim(1, { state: "create-intent" }), T0 + HOUR, "absent"),
      { action: "forget", reason: "absent" }
    )
  })

  it("treats a lease missing from the live map as unknown", () => {
    const plan = planCleanup({
      claims: [aClaim(1)],
      live: new Map(),
      nowMs: T0 + HOUR,
      provider: "fal",
      providerScope: "endpoint:a"
    })
    assert.deepStrictEqual(plan.map((d) => [d.action, d.reason]), [["delete", "idle"]])
  })

  it("never deletes on timestamps it cannot read", () => {
    assert.deepStrictEqual(planOne(aClaim(1, { lastUsedAt: "soon" }), T0 + 100 * HOUR), {
      action: "skip",
      reason: "invalid-timestamps"
    })
    assert.deepStrictEqual(planOne(aClaim(1, { state: "create-intent", createdAt: "" }), T0 + 100 * HOUR), {
      action: "skip",
      reason: "invalid-timestamps"
    })
  })
})
