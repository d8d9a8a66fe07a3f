/**
 * The run workflow over in-memory adapters: whatever the command's exit code, keep flags and
 * remote failures, a fresh lease is released exactly when nothing asked to keep it, and a
 * lease is never forgotten while its release failed (the claim stays for `stop`).
 */
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, FastCheck, Layer, Option } from "effect"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import * as MemoryKeyStore from "../../src/adapters/memory/MemoryKeyStore.js"
import * as MemorySshTransport from "../../src/adapters/memory/MemorySshTransport.js"
import * as MemoryStdio from "../../src/adapters/memory/MemoryStdio.js"
import * as MemoryWorkspace from "../../src/adapters/memory/MemoryWorkspace.js"
import { makeStaticSshBackend } from "../../src/app/providers/ssh/StaticSshBackend.js"
import { runWorkflow } from "../../src/app/workflows/run.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"

interface Plan {
  readonly exitCode: number
  readonly keep: boolean
  readonly keepOnFailure: boolean
  readonly mkdirFails: boolean
  readonly releaseFails: boolean
}

const layers = (plan: Plan) =>
  Layer.mergeAll(
    MemoryClaimStore.layer,
    MemoryKeyStore.layer,
    MemoryStdio.layer(),
    FileSystem.layerNoop({ readFileString: () => Effect.succeed("not a real key: the memory transport ignores it") }),
    MemorySshTransport.layer({
      handler: (request) => {
        if (request.command.startsWith("mkdir")) return Effect.succeed({ code: plan.mkdirFails ? 1 : 0, stderr: "no space" })
        if (request.command.startsWith("rm -rf")) return Effect.succeed({ code: plan.releaseFails ? 1 : 0, stderr: "busy" })
        if (request.command === "true") return Effect.succeed({ code: 0 })
        return Effect.succeed({ code: plan.exitCode, stdout: "out\n" })
      }
    })
  )

const runOnce = (plan: Plan) =>
  Effect.gen(function* () {
    const backend = yield* makeStaticSshBackend({
      host: Option.some("box.test"), port: 22, user: "dev", keyPath: "/keys/id", workRoot: "/work"
    })
    const exit = yield* Effect.exit(runWorkflow(backend, {
      workspace: MemoryWorkspace.layer({ "a.txt": "a" }),
      argv: ["make", "test"],
      shell: false,
      id: Option.none(),
      reclaim: false,
      newLease: {
        slug: Option.none(), keep: plan.keep, ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30),
        repoRoot: "/repo", serverType: Option.none()
      },
      keepOnFailure: plan.keepOnFailure,
      noSync: true,
      syncOnly: false,
      forceSyncLarge: false,
      fullResync: false,
      excludes: [],
      env: {},
      timingJson: false,
      repoName: "repo"
    }))
    const claims = yield* (yield* ClaimStore).list
    return { exit, claims }
  }).pipe(Effect.provide(layers(plan)))

describe("run: lease outcome", () => {
  it.effect.prop(
    "a fresh lease is released unless kept, and never forgotten when its release failed",
    [FastCheck.record({
      exitCode: FastCheck.constantFrom(0, 1, 42),
      keep: FastCheck.boolean(),
      keepOnFailure: FastCheck.boolean(),
      mkdirFails: FastCheck.boolean(),
      releaseFails: FastCheck.boolean()
    })],
    ([plan]) =>
      Effect.gen(function* () {
        const { exit, claims } = yield* runOnce(plan)
        const failed = plan.mkdirFails || plan.exitCode !== 0
        const keptOnPurpose = plan.keep || (plan.keepOnFailure && failed)
        const expectClaim = keptOnPurpose || plan.releaseFails
        assert.strictEqual(claims.length, expectClaim ? 1 : 0)
        if (!failed && !keptOnPurpose && plan.releaseFails) {
          // a successful command whose lease could not be released: exit 7, never silent
          assert.isTrue(Exit.isFailure(exit))
          assert.include(JSON.stringify(exit), "LeaseCleanupFailed")
        } else if (plan.mkdirFails) {
          assert.include(JSON.stringify(exit), "RemoteSetupFailed")
        } else if (plan.exitCode !== 0) {
          assert.include(JSON.stringify(exit), `"code":${plan.exitCode}`)
        } else {
          assert.isTrue(Exit.isSuccess(exit))
        }
      }),
    { fastCheck: { numRuns: 200 } }
  )
})
