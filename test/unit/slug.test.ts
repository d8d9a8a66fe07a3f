import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import {
  allocateSlug,
  fnv1a32,
  normalizeSlug,
  slugFromLeaseId,
  validateRequestedSlug
} from "../../src/domain/slug.js"

describe("fnv1a32", () => {
  it("matches the published FNV-1a 32-bit vectors", () => {
    assert.strictEqual(fnv1a32(""), 0x811c9dc5)
    assert.strictEqual(fnv1a32("a"), 0xe40c292c)
    assert.strictEqual(fnv1a32("foobar"), 0xbf9cf968)
  })

  it("hashes the UTF-8 bytes, as Go does", () => {
    // "é" is two bytes (c3 a9) in UTF-8; hashing UTF-16 code units would give another value.
    assert.strictEqual(fnv1a32("é"), 0x1e9de8c1)
  })
})

describe("slugFromLeaseId", () => {
  it("picks adjective h % 14 and noun (h / 14) % 8", () => {
    // h = 0x1f355055 = 523587669; 523587669 % 14 = 3 (coral); floor(h / 14) = 37399119, % 8 = 7 (shrimp)
    assert.strictEqual(fnv1a32("cbx_000000000000"), 523587669)
    assert.strictEqual(slugFromLeaseId("cbx_000000000000"), "coral-shrimp")
    assert.strictEqual(slugFromLeaseId("cbx_0123456789ab"), "violet-prawn")
    assert.strictEqual(slugFromLeaseId("cbx_deadbeefcafe"), "silver-crab")
  })
})

describe("normalizeSlug", () => {
  it("treats case and separators alike", () => {
    assert.strictEqual(normalizeSlug("Blue_Lobster"), "blue-lobster")
    assert.strictEqual(normalizeSlug("BLUE LOBSTER"), "blue-lobster")
    assert.strictEqual(normalizeSlug("  --blue--lobster!!"), "blue-lobster")
    assert.strictEqual(normalizeSlug("___"), "")
  })
})

describe("validateRequestedSlug", () => {
  it("returns the normalized slug", () => {
    assert.deepStrictEqual(validateRequestedSlug("My Feature"), Either.right("my-feature"))
  })

  it("refuses a value with no letter or digit, naming --slug and the value", () => {
    const result = validateRequestedSlug("-- !!")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "UsageError")
      assert.include(result.left.message, "--slug")
      assert.include(result.left.message, "-- !!")
    }
  })

  it("accepts 41 characters and refuses 42", () => {
    assert.isTrue(Either.isRight(validateRequestedSlug("a".repeat(41))))
    const result = validateRequestedSlug("a".repeat(42))
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "41")
  })
})

describe("allocateSlug", () => {
  const id = "cbx_0123456789ab"

  it("keeps a free base", () => {
    assert.deepStrictEqual(allocateSlug(id, "blue-lobster", new Set(["red-crab"])), Either.right("blue-lobster"))
  })

  it("suffixes the low 16 bits of fnv1a32(leaseId-attempt) on a collision", () => {
    // fnv1a32("cbx_0123456789ab-0") & 0xffff = 0x73ac, "-1" -> 0x753f
    assert.deepStrictEqual(allocateSlug(id, "blue-lobster", new Set(["blue-lobster"])), Either.right("blue-lobster-73ac"))
    assert.deepStrictEqual(
      allocateSlug(id, "blue-lobster", new Set(["blue-lobster", "blue-lobster-73ac"])),
      Either.right("blue-lobster-753f")
    )
  })

  it("compares taken slugs normalized", () => {
    assert.deepStrictEqual(allocateSlug(id, "Blue Lobster", new Set(["BLUE_LOBSTER"])), Either.right("blue-lobster-73ac"))
  })

  it("cuts a long base to 41 characters and drops a dash left at the cut", () => {
    const base = `${"a".repeat(40)}-bbbb`
    const result = allocateSlug(id, base, new Set([base]))
    assert.deepStrictEqual(result, Either.right(`${"a".repeat(40)}-73ac`))
  })

  it("derives the base from the lease id when none is given", () => {
    assert.deepStrictEqual(allocateSlug(id, "", new Set()), Either.right("violet-prawn"))
  })

  it("fails once the base and all 20 candidates are taken", () => {
    const taken = new Set<string>(["x"])
    for (let attempt = 0; attempt < 20; attempt++) {
      taken.add(`x-${(fnv1a32(`${id}-${attempt}`) & 0xffff).toString(16).padStart(4, "0")}`)
    }
    const result = allocateSlug(id, "x", taken)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "could not allocate a unique lease slug")
  })
})
