import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { MIN_SECRET_LENGTH, REDACTED, REDACTED_BLOCK, redact } from "../../src/domain/redact.js"

const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1)
const urlEncoded = (s: string) => encodeURIComponent(s)

/** Every spelling redact looks for, to know a text really holds none of them. */
const allSpellings = (s: string) => [
  s,
  jsonEscaped(s),
  jsonEscaped(s).replace(/[<>&\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
  urlEncoded(s),
  urlEncoded(s).replace(/%20/g, "+")
]

/**
 * Secrets of at least the minimum length. Excluded, because no redactor can hide them:
 * a secret made only of marker text (`acted`), or one holding a marker's bracket, which
 * a marker next to ordinary text can spell (`d>ab` in `<redacted>ab`).
 */
const secret = fc.string({ unit: "binary", minLength: MIN_SECRET_LENGTH, maxLength: 12 })
  .filter((s) => s.length >= MIN_SECRET_LENGTH && !/[<>[\]]/.test(s))
  .filter((s) => !REDACTED.includes(s) && !REDACTED_BLOCK.includes(s))

/** How a secret is embedded: raw, as a JSON string escapes it, or URL-encoded. */
const spelling = fc.constantFrom("raw" as const, "json" as const, "url" as const)
const spell = { raw: (s: string) => s, json: jsonEscaped, url: urlEncoded }

const textWithSecrets = fc.record({
  secrets: fc.array(secret, { minLength: 1, maxLength: 3 }),
  pieces: fc.array(
    fc.record({ filler: fc.string({ unit: "binary", maxLength: 20 }), which: fc.nat(), spelling }),
    { minLength: 1, maxLength: 6 }
  ),
  tail: fc.string({ maxLength: 10 })
})

/** No character that any credential pattern needs (`:`, `=`, `@`, `"`, `-`), and no "bearer". */
const plainText = fc.string({ unit: "binary", maxLength: 80 })
  .map((s) => s.replace(/[:="@-]/g, ""))
  .filter((s) => !/bearer/i.test(s))

describe("redact properties", () => {
  it.prop("no embedded secret survives, raw, JSON-escaped or URL-encoded", [textWithSecrets], ([{ pieces, secrets, tail }]) => {
    const text = pieces.map(({ filler, spelling, which }) => filler + spell[spelling](secrets[which % secrets.length]!))
      .join("") + tail
    const out = redact(text, secrets)
    for (const s of secrets) {
      assert.notInclude(out, s)
      assert.notInclude(out, jsonEscaped(s))
      assert.notInclude(out, urlEncoded(s))
    }
  }, { fastCheck: { numRuns: 1000 } })

  it.prop("a secret inside a JSON document never survives", [secret, fc.string()], ([s, other]) => {
    const out = redact(JSON.stringify({ message: `${other}${s}${other}`, nested: [s] }), [s])
    assert.notInclude(out, s)
    assert.notInclude(out, jsonEscaped(s))
  }, { fastCheck: { numRuns: 500 } })

  it.prop(
    "text with no secret and no credential pattern is unchanged",
    [plainText, fc.array(fc.string({ unit: "binary", minLength: MIN_SECRET_LENGTH, maxLength: 12 }), { maxLength: 3 })],
    ([text, candidates]) => {
      const absent = candidates.filter((s) => allSpellings(s).every((form) => !text.includes(form)))
      assert.strictEqual(redact(text, absent), text)
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
