/**
 * The compute backend under random faults: 5xx and 429 bursts, timeouts, lost responses
 * (the cloud acted, the answer never came), never-ready and stopped instances, SSH that
 * never answers, failed deletes, and the process killed at any call (nothing it does
 * afterwards reaches the cloud or the disk). Then a new process runs `cleanup`.
 * Afterwards: no instance exists that no claim records, and no instance without a claim
 * (someone else's in the same workspace) was ever deleted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, FastCheck, Layer, Option } from "effect"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import * as MemoryComputeApi from "../../src/adapters/memory/MemoryComputeApi.js"
import * as MemoryKeyStore from "../../src/adapters/memory/MemoryKeyStore.js"
import * as MemorySshTransport from "../../src/adapters/memory/MemorySshTransport.js"
import * as MemoryStdio from "../../src/adapters/memory/MemoryStdio.js"
import { makeComputeLeaseBackend } from "../../src/app/providers/compute/ComputeLeaseBackend.js"
import type { ComputeLeaseSettings } from "../../src/app/providers/compute/settings.js"
import { falSpec } from "../../src/app/providers/fal/spec.js"
import { ClaimStoreError, KeyStoreError, SshError } from "../../src/domain/errors.js"
import { LeaseId } from "../../src/domain/ids.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"
import type { ComputeApiService } from "../../src/ports/ComputeApi.js"
import { KeyStore } from "../../src/ports/KeyStore.js"

const settings: ComputeLeaseSettings = {
  spec: falSpec,
  chooseMachine: (requested) => Either.right({ instanceType: Option.getOrElse(requested, () => "gpu_1x_h100_sxm5"), sector: Option.none() }),
  ssh: { user: "ubuntu", port: 22, workRoot: "/home/ubuntu/crabbox" },
  selectorFlags: [],
  timing: {
    pollInterval: "1 millis", readyTimeout: "15 millis", sshTimeout: "5 millis", progressEvery: "1 hour",
    createReplays: 3, replaySpacing: "1 millis", replayWindow: "9 minutes",
    confirmInterval: "1 millis", confirmTimeout: "10 millis"
  }
}

const fault: FastCheck.Arbitrary<MemoryComputeApi.FaultAction> = FastCheck.oneof(
  { weight: 12, arbitrary: FastCheck.constant({ _tag: "ok" as const }) },
  { weight: 2, arbitrary: FastCheck.constantFrom("server" as const, "rate-limited" as const, "timeout" as const).map((kind) => ({ _tag: "fail" as const, kind })) },
  { weight: 2, arbitrary: FastCheck.constant({ _tag: "lose" as const }) },
  { weight: 1, arbitrary: FastCheck.boolean().map((applied) => ({ _tag: "die" as const, applied })) }
)

const scenario = FastCheck.record({
  faults: FastCheck.array(fault, { maxLength: 30 }),
  readyAfterGets: FastCheck.oneof(FastCheck.integer({ min: 0, max: 4 }), FastCheck.constant(Number.POSITIVE_INFINITY)),
  stopped: FastCheck.integer({ min: 0, max: 4 }).map((n) => n === 0),
  sshFails: FastCheck.integer({ min: 0, max: 4 }).map((n) => n === 0),
  keep: FastCheck.boolean(),
  foreign: FastCheck.integer({ min: 0, max: 2 })
})
type Scenario = typeof scenario extends FastCheck.Arbitrary<infer A> ? A : never

/** The killed process: once the cloud says it died, its disk writes fail too. */
const dying = (dead: Effect.Effect<boolean>) => Effect.gen(function* () {
  const claims = yield* ClaimStore
  const keys = yield* KeyStore
  const guard = <A, E, R>(effect: Effect.Effect<A, E, R>, fail: () => E) =>
    Effect.flatMap(dead, (d) => (d ? Effect.fail(fail()) : effect))
  const claimDead = () => new ClaimStoreError({ operation: "write", path: "memory", message: "process killed" })
  const keyDead = () => new KeyStoreError({ operation: "write", path: "memory", message: "process killed" })
  return Layer.mergeAll(
    Layer.succeed(ClaimStore, {
      ...claims,
      create: (c) => guard(claims.create(c), claimDead),
      replace: (a, b) => guard(claims.replace(a, b), claimDead),
      remove: (c) => guard(claims.remove(c), claimDead)
    }),
    Layer.succeed(KeyStore, {
      ...keys,
      ensure: (id) => guard(keys.ensure(id), keyDead),
      remove: (id) => guard(keys.remove(id), keyDead),
      pinHostKey: (...a) => guard(keys.pinHostKey(...a), keyDead)
    })
  )
})

const backendWith = (api: ComputeApiService) => makeComputeLeaseBackend(settings, Either.right(api), "memory://compute")

const runScenario = (s: Scenario) =>
  Effect.gen(function* () {
    const cloud = yield* MemoryComputeApi.make({
      fault: (_op, n) => s.faults[n - 1] ?? { _tag: "ok" },
      readyAfterGets: s.readyAfterGets,
      ...(s.stopped ? { terminalStatus: "stopped" as const } : {})
    })
    const foreign: Array<string> = []
    for (let i = 0; i < s.foreign; i++) foreign.push(yield* cloud.addForeign)

    // the first process: acquire, then release unless kept; it may be killed anywhere
    const firstProcess = Effect.gen(function* () {
      const backend = yield* backendWith(cloud.api)
      const lease = yield* backend.acquire({
        leaseId: LeaseId.make("cbx_0123456789ab"), slug: "blue-crab", keep: s.keep,
        ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30), repoRoot: "/repo", serverType: Option.none()
      })
      if (!s.keep) yield* backend.release(lease)
    })
    const first = yield* Effect.exit(Effect.provide(firstProcess, yield* dying(cloud.dead)))

    // a new process, no faults: cleanup
    const cleanup = yield* Effect.flatMap(backendWith(cloud.freshApi), (b) => b.cleanup!({ dryRun: false }))
    const claims = yield* (yield* ClaimStore).list
    return { first, cleanup, claims, instances: yield* cloud.instances, foreign }
  })

const layers = (s: Scenario) => Layer.mergeAll(
  MemoryClaimStore.layer,
  MemoryKeyStore.layer,
  MemoryStdio.layer(),
  MemorySshTransport.layer({
    handler: () => Effect.succeed({ code: 0 }),
    ...(s.sshFails ? { failConnect: new SshError({ kind: "connect", host: "127.0.0.1", port: 22, message: "connection refused" }) } : {})
  })
)

describe("compute lease under faults", () => {
  // live clock: the backend really sleeps between polls (1 ms here)
  it.live.prop(
    "no instance is left that no claim records; no unclaimed instance is ever deleted",
    [scenario],
    ([s]) =>
      Effect.gen(function* () {
        const { first, claims, instances, foreign } = yield* runScenario(s)
        const recorded = new Set(claims.map((c) => c.cloudId).filter((id) => id !== undefined))
        for (const i of instances) {
          if (i.foreign) assert.isFalse(i.deleted, `foreign instance ${i.id} was deleted`)
          else if (!i.deleted) assert.isTrue(recorded.has(i.id), `instance ${i.id} is alive but no claim records it`)
        }
        assert.deepStrictEqual(instances.filter((i) => i.foreign).map((i) => i.id), foreign)
        // a clean, unkept acquire-and-release leaves nothing at all
        if (Exit.isSuccess(first) && !s.keep) {
          assert.deepStrictEqual(instances.filter((i) => !i.foreign && !i.deleted).map((i) => i.id), [])
        }
      }).pipe(Effect.provide(layers(s))),
    { timeout: 240_000, fastCheck: { numRuns: 1000 } }
  )
})
