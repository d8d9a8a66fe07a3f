import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import { expiresAt, formatRfc3339, idleForSeconds, parseRfc3339 } from "../../src/domain/leaseTiming.js"

const timing = (overrides: Partial<{ createdAt: string; lastUsedAt: string; ttlSeconds: number; idleTimeoutSeconds: number }> = {}) => ({
  createdAt: "2024-05-01T10:00:00Z",
  lastUsedAt: "2024-05-01T10:00:00Z",
  ttlSeconds: 90 * 60,
  idleTimeoutSeconds: 30 * 60,
  ...overrides
})

describe("expiresAt", () => {
  it("is lastUsedAt + idle timeout while that comes first", () => {
    const expiry = expiresAt(timing({ lastUsedAt: "2024-05-01T10:20:00Z" }))
    assert.deepStrictEqual(expiry, Option.some({
      atMs: Date.UTC(2024, 4, 1, 10, 50),
      at: "2024-05-01T10:50:00Z",
      bound: "idle" as const
    }))
  })

  it("never passes createdAt + ttl, however recent the touch", () => {
    const expiry = expiresAt(timing({ lastUsedAt: "2024-05-01T11:15:00Z" }))
    assert.deepStrictEqual(Option.map(expiry, (e) => [e.at, e.bound]), Option.some(["2024-05-01T11:30:00Z", "ttl"]))
  })

  it("calls a tie ttl", () => {
    const expiry = expiresAt(timing({ lastUsedAt: "2024-05-01T11:00:00Z" }))
    assert.deepStrictEqual(Option.map(expiry, (e) => e.bound), Option.some("ttl"))
  })

  it("reads offsets and fractions", () => {
    const expiry = expiresAt(timing({ createdAt: "2024-05-01T12:00:00.250+02:00", lastUsedAt: "2024-05-01T10:00:00.250Z" }))
    assert.deepStrictEqual(Option.map(expiry, (e) => e.at), Option.some("2024-05-01T10:30:00.250Z"))
  })

  it("is unknown when a timestamp is not RFC 3339", () => {
    assert.isTrue(Option.isNone(expiresAt(timing({ createdAt: "May 1 2024" }))))
    assert.isTrue(Option.isNone(expiresAt(timing({ lastUsedAt: "" }))))
    assert.isTrue(Option.isNone(expiresAt(timing({ lastUsedAt: "2024-13-45T99:00:00Z" }))))
    assert.isTrue(Option.isNone(expiresAt(timing({ ttlSeconds: Number.NaN }))))
    assert.isTrue(Option.isNone(expiresAt(timing({ ttlSeconds: 1e20, idleTimeoutSeconds: 1e20 }))))
  })
})

describe("idleForSeconds", () => {
  const claim = { lastUsedAt: "2024-05-01T10:00:00Z" }
  const at = (iso: string) => Option.getOrThrow(parseRfc3339(iso))

  it("counts whole seconds since the last use", () => {
    assert.strictEqual(idleForSeconds(claim, at("2024-05-01T10:01:30.900Z")), 90)
  })

  it("is never negative and 0 for an unreadable timestamp", () => {
    assert.strictEqual(idleForSeconds(claim, at("2024-05-01T09:00:00Z")), 0)
    assert.strictEqual(idleForSeconds({ lastUsedAt: "yesterday" }, at("2024-05-01T10:00:00Z")), 0)
  })
})

describe("formatRfc3339", () => {
  it("drops zero milliseconds only", () => {
    assert.strictEqual(formatRfc3339(Date.UTC(2024, 0, 2, 3, 4, 5)), "2024-01-02T03:04:05Z")
    assert.strictEqual(formatRfc3339(Date.UTC(2024, 0, 2, 3, 4, 5, 60)), "2024-01-02T03:04:05.060Z")
  })
})
