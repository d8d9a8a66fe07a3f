import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { checkSyncSize, formatMiB, syncLimits } from "../../src/domain/syncGuardrails.js"

const GiB = 1024 ** 3
const check = (files: number, bytes: number, force = false) => Effect.runSync(Effect.either(checkSyncSize({ files, bytes }, { force })))

describe("sync guardrails", () => {
  it("passes a normal set quietly", () => {
    assert.deepStrictEqual(check(1_000, 100 * 1024 ** 2), Either.right({ _tag: "ok" as const }))
    assert.deepStrictEqual(check(syncLimits.warnFiles - 1, 5 * GiB - 1), Either.right({ _tag: "ok" as const }))
  })

  it("warns at 50,000 files or 5 GiB", () => {
    for (const [files, bytes] of [[50_000, 0], [10, 5 * GiB]] as const) {
      const verdict = check(files, bytes)
      assert.isTrue(Either.isRight(verdict) && verdict.right._tag === "warn", `${files} files, ${bytes} bytes`)
    }
  })

  it("fails at 150,000 files or 20 GiB, naming both ways out", () => {
    for (const [files, bytes] of [[150_000, 0], [10, 20 * GiB]] as const) {
      const verdict = check(files, bytes)
      assert.isTrue(Either.isLeft(verdict))
      if (Either.isLeft(verdict)) {
        assert.strictEqual(verdict.left._tag, "SyncTooLarge")
        assert.strictEqual(verdict.left.files, files)
        assert.strictEqual(verdict.left.bytes, bytes)
        assert.include(verdict.left.message, "--force-sync-large")
        assert.include(verdict.left.message, "CRABBOX_SYNC_ALLOW_LARGE=1")
      }
    }
  })

  it("forced, an oversized set only warns", () => {
    const verdict = check(200_000, 30 * GiB, true)
    assert.isTrue(Either.isRight(verdict) && verdict.right._tag === "warn")
  })

  it("formats sizes in MiB", () => {
    assert.strictEqual(formatMiB(5 * 1024 ** 2), "5.0 MiB")
    assert.strictEqual(formatMiB(1536 * 1024), "1.5 MiB")
  })
})
