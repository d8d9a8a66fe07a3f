/**
 * Compute leases whose create or rollback went wrong can always be finished: a rate-limited
 * create is resent with the same key, an intent that never reached the API is forgotten
 * without a call, a failed rollback leaves a claim cleanup forces, and a create that can no
 * longer be replayed is reported for a human and can be dropped with --forget-unverified.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Layer, Option } from "effect"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import * as MemoryComputeApi from "../../src/adapters/memory/MemoryComputeApi.js"
import * as MemoryKeyStore from "../../src/adapters/memory/MemoryKeyStore.js"
import * as MemorySshTransport from "../../src/adapters/memory/MemorySshTransport.js"
import * as MemoryStdio from "../../src/adapters/memory/MemoryStdio.js"
import { makeComputeLeaseBackend } from "../../src/app/providers/compute/ComputeLeaseBackend.js"
import type { ComputeLeaseSettings } from "../../src/app/providers/compute/settings.js"
import { falSpec } from "../../src/app/providers/fal/spec.js"
import { forgetUnverifiedWorkflow } from "../../src/app/workflows/forgetUnverified.js"
import { LeaseId } from "../../src/domain/ids.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"
import type { ComputeApiService } from "../../src/ports/ComputeApi.js"

const settings: ComputeLeaseSettings = {
  spec: falSpec,
  chooseMachine: () => Either.right({ instanceType: "gpu_1x_h100_sxm5", sector: Option.none() }),
  ssh: { user: "ubuntu", port: 22, workRoot: "/home/ubuntu/crabbox" },
  selectorFlags: [],
  timing: {
    pollInterval: "1 millis", readyTimeout: "20 millis", sshTimeout: "5 millis", progressEvery: "1 hour",
    createReplays: 3, replaySpacing: "1 millis", replayWindow: "60 millis",
    confirmInterval: "1 millis", confirmTimeout: "10 millis"
  }
}

const request = (keep = false) => ({
  leaseId: LeaseId.make("cbx_00000000000a"), slug: "blue-crab", keep,
  ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30), repoRoot: "/repo", serverType: Option.none()
})

const layers = Layer.mergeAll(
  MemoryClaimStore.layer, MemoryKeyStore.layer, MemoryStdio.layer(),
  MemorySshTransport.layer({ handler: () => Effect.succeed({ code: 0 }) })
)

const backendOf = (api: ComputeApiService) => makeComputeLeaseBackend(settings, Either.right(api), "memory://compute")
const listClaims = Effect.flatMap(ClaimStore, (s) => s.list)
const live = (cloud: MemoryComputeApi.MemoryCloud) => Effect.map(cloud.instances, (all) => all.filter((i) => !i.deleted))
const faults = (list: ReadonlyArray<MemoryComputeApi.FaultAction>) => (_: MemoryComputeApi.Operation, n: number) =>
  list[n - 1] ?? { _tag: "ok" as const }

describe("compute lease recovery", () => {
  it.live("a 429 on create is resent with the same key; only 429s leave nothing behind", () => Effect.gen(function* () {
    const limited = { _tag: "fail", kind: "rate-limited" } as const
    const cloud = yield* MemoryComputeApi.make({ fault: faults([limited]) })
    const lease = yield* Effect.flatMap(backendOf(cloud.api), (b) => b.acquire(request()))
    assert.strictEqual(lease.claim.state, "ready")
    assert.lengthOf(yield* live(cloud), 1)

    const refused = yield* MemoryComputeApi.make({ fault: faults([limited, limited, limited, limited]) })
    const exit = yield* Effect.exit(Effect.flatMap(backendOf(refused.api), (b) => b.acquire({ ...request(), leaseId: LeaseId.make("cbx_00000000000b") })))
    assert.isTrue(Exit.isFailure(exit))
    assert.deepStrictEqual((yield* listClaims).map((c) => c.leaseId), [lease.claim.leaseId])
    assert.lengthOf(yield* refused.instances, 0)
  }).pipe(Effect.provide(layers)))

  it.live("an intent that never reached the API is forgotten without a call", () => Effect.gen(function* () {
    const cloud = yield* MemoryComputeApi.make()
    const backend = yield* backendOf(cloud.api)
    // the process stopped after writing the intent, before the first POST
    const dying = yield* MemoryComputeApi.make({ fault: faults([{ _tag: "die", applied: false }]) })
    yield* Effect.exit(Effect.flatMap(backendOf(dying.api), (b) => b.acquire(request())))
    const [claim] = yield* listClaims
    const store = yield* ClaimStore
    const neverSent = { ...claim!, labels: { ...claim!.labels, create_attempts: "0", create_state: "inflight" } }
    yield* store.replace(claim!, neverSent)
    const outcome = yield* backend.cleanup!({ dryRun: false })
    assert.deepStrictEqual(outcome.map((o) => o.outcome), ["done"])
    assert.deepStrictEqual(yield* listClaims, [])
    assert.lengthOf(yield* cloud.instances, 0, "no create was sent to learn about a request never made")
  }).pipe(Effect.provide(layers)))

  it.live("a rollback that cannot reach the API leaves a releasing claim that cleanup deletes, keep or not", () => Effect.gen(function* () {
    const cloud = yield* MemoryComputeApi.make({
      terminalStatus: "stopped",
      // create ok, readiness GET says stopped, then the rollback's GET fails
      fault: faults([{ _tag: "ok" }, { _tag: "ok" }, { _tag: "fail", kind: "server" }])
    })
    const exit = yield* Effect.exit(Effect.flatMap(backendOf(cloud.api), (b) => b.acquire(request())))
    assert.isTrue(Exit.isFailure(exit))
    const [claim] = yield* listClaims
    assert.strictEqual(claim?.state, "releasing")
    assert.lengthOf(yield* live(cloud), 1)
    const outcome = yield* Effect.flatMap(backendOf(cloud.freshApi), (b) => b.cleanup!({ dryRun: false }))
    assert.deepStrictEqual(outcome.map((o) => [o.action, o.outcome]), [["delete", "done"]])
    assert.lengthOf(yield* live(cloud), 0)
    assert.deepStrictEqual(yield* listClaims, [])
  }).pipe(Effect.provide(layers)))

  it.live("past the replay window an unconfirmed create is left to a human, then dropped with --forget-unverified", () => Effect.gen(function* () {
    // every create is lost: made, but never answered; the rollback's replays are lost too
    const lost = { _tag: "lose" } as const
    const cloud = yield* MemoryComputeApi.make({ fault: (op) => (op === "create" ? lost : { _tag: "ok" }) })
    yield* Effect.exit(Effect.flatMap(backendOf(cloud.api), (b) => b.acquire(request())))
    assert.lengthOf(yield* live(cloud), 1)
    const [claim] = yield* listClaims
    assert.isUndefined(claim?.cloudId)
    yield* Effect.sleep("80 millis")
    const backend = yield* backendOf(cloud.api)
    const outcome = yield* backend.cleanup!({ dryRun: false })
    assert.deepStrictEqual(outcome.map((o) => [o.action, o.reason]), [["skip", "unconfirmed-create-past-window"]])
    const stop = yield* Effect.flip(Effect.flatMap(backend.resolve({ id: "blue-crab", repoRoot: "/repo", reclaim: false, readOnly: true }), backend.release))
    assert.include(JSON.stringify(stop), "--forget-unverified")
    assert.lengthOf(yield* live(cloud), 1, "nothing is replayed past the window")
    yield* forgetUnverifiedWorkflow(backend, "blue-crab", "/repo")
    assert.deepStrictEqual(yield* listClaims, [])
  }).pipe(Effect.provide(layers)))
})
