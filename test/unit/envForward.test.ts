import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { isAllowPattern, parseAllowEnv, resolveAllowlist, selectEnv } from "../../src/domain/envForward.js"

describe("parseAllowEnv", () => {
  it("accepts repeated values and comma lists, trimming blanks", () => {
    assert.deepStrictEqual(parseAllowEnv(["CI", "FOO, BAR", "AWS_*,", " "]), Either.right(["CI", "FOO", "BAR", "AWS_*"]))
  })

  it("refuses a bad name, naming --allow-env and the value", () => {
    const result = parseAllowEnv(["CI,1BAD"])
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "UsageError")
      assert.include(result.left.message, "--allow-env")
      assert.include(result.left.message, "1BAD")
    }
  })

  it("never echoes what follows = in a refused value", () => {
    const result = parseAllowEnv(["TOKEN=hunter2-secret"])
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.include(result.left.message, "TOKEN=")
      assert.notInclude(result.left.message, "hunter2")
    }
  })
})

describe("isAllowPattern", () => {
  it("takes names with an optional trailing *", () => {
    for (const ok of ["CI", "_X", "node_options", "AWS_*", "A1*"]) assert.isTrue(isAllowPattern(ok), ok)
    for (const bad of ["*", "A*B", "A-B", "1A", "A B", "", "A**", "A=1"]) assert.isFalse(isAllowPattern(bad), bad)
  })
})

describe("resolveAllowlist", () => {
  it("appends the flags to the configured list, once each", () => {
    assert.deepStrictEqual(
      resolveAllowlist(["CI", "NODE_OPTIONS"], ["NODE_OPTIONS,FOO", "CI"]),
      Either.right(["CI", "NODE_OPTIONS", "FOO"])
    )
  })

  it("fails on a bad flag value", () => {
    assert.isTrue(Either.isLeft(resolveAllowlist(["CI"], ["no-dash"])))
  })
})

describe("selectEnv", () => {
  const local = { CI: "true", NODE_OPTIONS: "", AWS_REGION: "eu", AWS_PROFILE: "dev", AWSX: "no", HOME: "/h", UNSET: undefined }

  it("sends set names only, including empty values", () => {
    assert.deepStrictEqual(selectEnv(["CI", "NODE_OPTIONS", "UNSET", "MISSING"], local), { CI: "true", NODE_OPTIONS: "" })
  })

  it("expands a trailing * as a prefix", () => {
    assert.deepStrictEqual(selectEnv(["AWS_*"], local), { AWS_PROFILE: "dev", AWS_REGION: "eu" })
  })

  it("never sends a name a shell could not export, whatever the allowlist", () => {
    const odd = { "BAD-NAME": "x", "A B": "y", "FOO": "z" }
    assert.deepStrictEqual(selectEnv(["*", "BAD-NAME", "A B", "F*"], odd), { FOO: "z" })
  })

  it("keeps a variable named __proto__ as plain data", () => {
    const env: Record<string, string> = JSON.parse(`{"__proto__":"x"}`)
    const selected = selectEnv(["__proto__"], env)
    assert.deepStrictEqual(Object.entries(selected), [["__proto__", "x"]])
    assert.strictEqual(Object.getPrototypeOf(selected), Object.prototype)
  })
})
