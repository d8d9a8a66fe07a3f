import { assert, describe, it } from "@effect/vitest"
import { canTransition, ClaimState, isUsable } from "../../src/domain/claim.js"

describe("claim state machine", () => {
  it("a lease goes create-intent -> provisioning -> ready -> running -> ready -> releasing", () => {
    const path = ["create-intent", "provisioning", "ready", "running", "ready", "releasing"] as const
    for (let i = 1; i < path.length; i++) assert.isTrue(canTransition(path[i - 1]!, path[i]!), `${path[i - 1]} -> ${path[i]}`)
  })

  it("nothing leaves releasing except into recovery, and nothing goes back to create-intent", () => {
    for (const to of ClaimState.literals) {
      assert.strictEqual(canTransition("releasing", to), to === "releasing" || to === "recovery", `releasing -> ${to}`)
      assert.isFalse(canTransition(to, "create-intent"), `${to} -> create-intent`)
    }
  })

  it("every state can fall into recovery, so a failure can always be recorded", () => {
    for (const from of ClaimState.literals) assert.isTrue(canTransition(from, "recovery"), `${from} -> recovery`)
  })

  it("only ready and running leases run commands", () => {
    assert.deepStrictEqual(ClaimState.literals.filter(isUsable), ["ready", "running"])
  })
})
