import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { allocateSlug, normalizeSlug, slugFromLeaseId, validateRequestedSlug } from "../../src/domain/slug.js"

const leaseId = fc.stringMatching(/^cbx_[a-f0-9]{12}$/)
const word = fc.stringMatching(/^[A-Za-z0-9]{1,8}$/)
const separator = fc.stringMatching(/^[-_ .!/]{1,3}$/)

/** A slug as a user might type it: words in any case, joined by any separator run. */
const spelledSlug = fc.record({
  words: fc.array(word, { minLength: 1, maxLength: 4 }),
  separators: fc.array(separator, { minLength: 4, maxLength: 4 }),
  edges: fc.tuple(fc.constantFrom("", " ", "--", "_"), fc.constantFrom("", " ", "--", "!"))
})

describe("slug properties", () => {
  it.prop("normalization is idempotent", [fc.string({ unit: "binary" })], ([s]) => {
    assert.strictEqual(normalizeSlug(normalizeSlug(s)), normalizeSlug(s))
  }, { fastCheck: { numRuns: 500 } })

  it.prop("normalized slugs hold only [a-z0-9] runs joined by single dashes", [fc.string({ unit: "binary" })], ([s]) => {
    assert.match(normalizeSlug(s), /^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$/)
  }, { fastCheck: { numRuns: 500 } })

  it.prop("case and separator variants normalize alike", [spelledSlug], ([{ edges, separators, words }]) => {
    const joinedWith = (seps: ReadonlyArray<string>, cased: (w: string) => string) =>
      edges[0] + words.map(cased).map((w, i) => (i === 0 ? w : seps[i]! + w)).join("") + edges[1]
    const canonical = words.map((w) => w.toLowerCase()).join("-")
    assert.strictEqual(normalizeSlug(joinedWith(separators, (w) => w.toUpperCase())), canonical)
    assert.strictEqual(normalizeSlug(joinedWith(separators.map(() => "-"), (w) => w.toLowerCase())), canonical)
  })

  it.prop("generated slugs always validate, unchanged", [leaseId], ([id]) => {
    const slug = slugFromLeaseId(id)
    assert.deepStrictEqual(validateRequestedSlug(slug), Either.right(slug))
  }, { fastCheck: { numRuns: 300 } })

  it.prop(
    "allocation never returns a taken slug, and is deterministic",
    {
      id: leaseId,
      base: fc.string({ maxLength: 60 }),
      others: fc.array(leaseId, { maxLength: 30 }),
      extra: fc.array(fc.string({ maxLength: 50 }), { maxLength: 5 })
    },
    ({ base, extra, id, others }) => {
      // Taken: other leases' generated names, arbitrary strings, and the base itself.
      const taken = new Set([...others.map(slugFromLeaseId), ...extra, base])
      const first = allocateSlug(id, base, taken)
      assert.deepStrictEqual(allocateSlug(id, base, taken), first)
      if (Either.isRight(first)) {
        assert.isFalse(new Set([...taken].map(normalizeSlug)).has(first.right))
        assert.strictEqual(normalizeSlug(first.right), first.right)
        assert.isTrue(first.right.length > 0)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop("allocating with every earlier answer taken still finds fresh slugs", [leaseId, word], ([id, base]) => {
    const taken = new Set<string>()
    for (let i = 0; i < 21; i++) {
      const next = allocateSlug(id, base, taken)
      // Collisions among the 16-bit suffixes may end the run early; never with a taken slug.
      if (Either.isLeft(next)) return
      assert.isFalse(taken.has(next.right))
      taken.add(next.right)
    }
    assert.isTrue(Either.isLeft(allocateSlug(id, base, taken)))
  })
})
