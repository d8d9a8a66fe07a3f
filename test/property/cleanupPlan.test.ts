import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Option } from "effect"
import type { Claim, ClaimState } from "../../src/domain/claim.js"
import { type LiveState, planCleanup } from "../../src/domain/cleanupPlan.js"
import { LeaseId } from "../../src/domain/ids.js"
import { expiresAt } from "../../src/domain/leaseTiming.js"

const T0 = Date.UTC(2024, 4, 1, 10, 0)
const DAY = 24 * 60 * 60 * 1000
const states: ReadonlyArray<ClaimState> = ["create-intent", "provisioning", "ready", "running", "releasing", "recovery"]

/** Timestamps within two days of T0, sometimes unreadable. */
const timestamp = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: -2 * DAY, max: 2 * DAY }).map((d) => new Date(T0 + d).toISOString()) },
  { weight: 1, arbitrary: fc.constantFrom("", "yesterday", "2024-05-01") }
)

const claim = fc.record({
  n: fc.nat({ max: 0xffff }),
  provider: fc.constantFrom("fal", "ssh"),
  providerScope: fc.constantFrom("endpoint:a", "endpoint:b"),
  state: fc.constantFrom(...states),
  keep: fc.boolean(),
  createdAt: timestamp,
  lastUsedAt: timestamp,
  ttlSeconds: fc.integer({ min: 0, max: 48 * 3600 }),
  idleTimeoutSeconds: fc.integer({ min: 0, max: 48 * 3600 })
}).map(({ n, ...fields }): Claim => ({
  version: 1,
  leaseId: LeaseId.make(`cbx_${n.toString(16).padStart(12, "0")}`),
  slug: `lease-${n}`,
  cloudId: `inst-${n}`,
  repoRoot: "/repo",
  claimedAt: fields.createdAt,
  labels: {},
  ...fields
}))

const scenario = fc.record({
  claims: fc.array(claim, { maxLength: 12 }),
  liveStates: fc.array(fc.constantFrom<LiveState>("present", "absent", "unknown"), { minLength: 12, maxLength: 12 }),
  nowMs: fc.integer({ min: -DAY, max: 4 * DAY }).map((d) => T0 + d),
  provider: fc.constantFrom("fal", "ssh"),
  providerScope: fc.constantFrom("endpoint:a", "endpoint:b")
}).map(({ claims, liveStates, ...rest }) => ({
  ...rest,
  claims,
  live: new Map(claims.map((c, i) => [c.leaseId, liveStates[i]!] as const))
}))

const ours = (input: { provider: string; providerScope: string }) => (c: Claim) =>
  c.provider === input.provider && c.providerScope === input.providerScope

describe("cleanup plan properties", () => {
  it.prop("plans exactly this provider's and scope's claims, in order", [scenario], ([input]) => {
    const plan = planCleanup(input)
    assert.deepStrictEqual(plan.map((d) => d.claim), input.claims.filter(ours(input)))
  }, { fastCheck: { numRuns: 500 } })

  it.prop("deletes a kept claim only when its state forces it", [scenario], ([input]) => {
    for (const { action, claim: c } of planCleanup(input)) {
      if (c.keep && action === "delete") {
        assert.include(["recovery", "releasing", "create-intent", "provisioning"], c.state)
        if (c.state === "provisioning") assert.notStrictEqual(c.labels["acquire_failed"], "true")
      }
    }
  }, { fastCheck: { numRuns: 500 } })

  it.prop("is deterministic", [scenario], ([input]) => {
    assert.deepStrictEqual(planCleanup(input), planCleanup({ ...input, claims: [...input.claims] }))
  }, { fastCheck: { numRuns: 200 } })

  it.prop("skips every ready claim that has not expired", [scenario], ([input]) => {
    for (const { action, claim: c } of planCleanup(input)) {
      const notExpired = Option.match(expiresAt(c), { onNone: () => true, onSome: (e) => input.nowMs < e.atMs })
      if (c.state === "ready" && notExpired && input.live.get(c.leaseId) !== "absent") {
        assert.strictEqual(action, "skip")
      }
    }
  }, { fastCheck: { numRuns: 500 } })

  it.prop("forgets only claims whose resource is confirmed absent", [scenario], ([input]) => {
    for (const { action, claim: c } of planCleanup(input)) {
      if (action === "forget") assert.strictEqual(input.live.get(c.leaseId), "absent")
    }
  }, { fastCheck: { numRuns: 500 } })
})
