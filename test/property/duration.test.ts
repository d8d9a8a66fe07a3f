import { describe, it, assert } from "@effect/vitest"
import { Duration, Either, FastCheck } from "effect"
import { formatDuration, parseDuration } from "../../src/domain/duration.js"

const millisOf = (text: string): number =>
  Either.getOrThrowWith(Either.map(parseDuration(text), Duration.toMillis), (reason) => new Error(`${text}: ${reason}`))

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
const unit = FastCheck.constantFrom<keyof typeof UNIT_MS>("h", "m", "s", "ms")
const part = FastCheck.record({ amount: FastCheck.nat({ max: 10_000 }), unit })

describe("durations", () => {
  it.prop("format then parse gives back any whole number of milliseconds",
    [FastCheck.nat({ max: Number.MAX_SAFE_INTEGER })],
    ([millis]) => millisOf(formatDuration(millis)) === millis)

  it.prop("the canonical form does not depend on how a value was split",
    [FastCheck.array(part, { minLength: 1, maxLength: 6 })],
    ([parts]) => {
      const text = parts.map((p) => `${p.amount}${p.unit}`).join("")
      const total = parts.reduce((sum, p) => sum + p.amount * UNIT_MS[p.unit], 0)
      return millisOf(text) === total && formatDuration(millisOf(text)) === formatDuration(total)
    })

  it("reads the usual forms", () => {
    assert.strictEqual(millisOf("90m"), millisOf("1h30m"))
    assert.strictEqual(millisOf("45s"), 45_000)
    assert.strictEqual(millisOf("1.5h"), 5_400_000)
    assert.strictEqual(millisOf(".5s"), 500)
    assert.strictEqual(millisOf("500ms"), 500)
    assert.strictEqual(millisOf("1h0m0.25s"), 3_600_250)
    assert.strictEqual(millisOf("0"), 0)
    assert.strictEqual(millisOf("0s"), 0)
  })

  it("writes the canonical short form", () => {
    assert.strictEqual(formatDuration(5_400_000), "1h30m")
    assert.strictEqual(formatDuration(45_000), "45s")
    assert.strictEqual(formatDuration(125_000), "2m5s")
    assert.strictEqual(formatDuration(850), "850ms")
    assert.strictEqual(formatDuration(0), "0s")
    assert.strictEqual(formatDuration(3_600_001), "1h1ms")
  })

  const reasonFor = (text: string) => Either.match(parseDuration(text), { onLeft: (reason) => reason, onRight: () => "(parsed)" })

  it.prop("any text is either a duration or a reason, never a thrown error",
    [FastCheck.string({ maxLength: 12 })],
    ([text]) => Either.isEither(parseDuration(text)))

  it("says why a value is refused", () => {
    assert.strictEqual(reasonFor(""), "it is empty")
    assert.strictEqual(reasonFor("-5m"), "it must not be negative")
    assert.strictEqual(reasonFor("90"), "missing unit after 90")
    assert.strictEqual(reasonFor("1h30"), "missing unit after 30")
    assert.strictEqual(reasonFor("5d"), `unknown unit "d" (use h, m, s or ms)`)
    assert.strictEqual(reasonFor("m"), `expected a number at "m"`)
    assert.strictEqual(reasonFor("1h 30m"), `expected a number at " 30m"`)
    assert.strictEqual(reasonFor("1.0005s"), "1.0005s is finer than a millisecond")
    assert.strictEqual(reasonFor("99999999999999999h"), "it is too large")
  })
})
