/**
 * Both ClaimStores against one simple model: a map from lease id to claim, where create
 * needs an empty slot and replace/remove need the slot to deeply equal the snapshot.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck, Layer, Option } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { isDeepStrictEqual } from "node:util"
import * as FileClaimStore from "../../src/adapters/fs/FileClaimStore.js"
import * as StateDir from "../../src/adapters/fs/StateDir.js"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import type { Claim, ClaimState } from "../../src/domain/claim.js"
import { LeaseId } from "../../src/domain/ids.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"

// Few ids and few variants, so operations collide and snapshots are often (not always) current.
const ids = [LeaseId.make("cbx_000000000001"), LeaseId.make("cbx_000000000002"), LeaseId.make("cbx_000000000003")]
const states: ReadonlyArray<ClaimState> = ["create-intent", "ready", "running", "releasing"]

interface Variant {
  readonly state: ClaimState
  readonly minute: number
  readonly cloudId: string | undefined
  readonly labels: Readonly<Record<string, string>>
}

const variantArb: FastCheck.Arbitrary<Variant> = FastCheck.record({
  state: FastCheck.constantFrom(...states),
  minute: FastCheck.integer({ min: 0, max: 2 }),
  cloudId: FastCheck.option(FastCheck.constantFrom("i-1", "i-2"), { nil: undefined }),
  labels: FastCheck.dictionary(FastCheck.constantFrom("a", "b"), FastCheck.constantFrom("x", "y"), { maxKeys: 2 })
})

const claimOf = (leaseId: LeaseId, v: Variant): Claim => ({
  version: 1,
  leaseId,
  slug: "blue-crab",
  provider: "ssh",
  providerScope: "host:me@box:22",
  ...(v.cloudId === undefined ? {} : { cloudId: v.cloudId }),
  state: v.state,
  repoRoot: "/work/repo",
  createdAt: "2026-01-02T03:00:00Z",
  claimedAt: "2026-01-02T03:00:00Z",
  lastUsedAt: `2026-01-02T03:0${v.minute}:00Z`,
  ttlSeconds: 3600,
  idleTimeoutSeconds: 900,
  keep: false,
  labels: v.labels
})

/** "current" snapshots the model's claim (a fresh read); "stale" is any claim at all. */
type Snapshot = { readonly kind: "current" } | { readonly kind: "stale"; readonly variant: Variant }
type Op =
  | { readonly op: "create"; readonly id: LeaseId; readonly variant: Variant }
  | { readonly op: "replace"; readonly id: LeaseId; readonly expected: Snapshot; readonly next: Variant }
  | { readonly op: "remove"; readonly id: LeaseId; readonly expected: Snapshot }

const idArb = FastCheck.constantFrom(...ids)
const snapshotArb: FastCheck.Arbitrary<Snapshot> = FastCheck.oneof(
  FastCheck.constant({ kind: "current" as const }),
  variantArb.map((variant) => ({ kind: "stale" as const, variant })))
const opArb: FastCheck.Arbitrary<Op> = FastCheck.oneof(
  FastCheck.record({ op: FastCheck.constant("create" as const), id: idArb, variant: variantArb }),
  FastCheck.record({ op: FastCheck.constant("replace" as const), id: idArb, expected: snapshotArb, next: variantArb }),
  FastCheck.record({ op: FastCheck.constant("remove" as const), id: idArb, expected: snapshotArb }))

const fileLayer = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "crabbox-prop-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
  (dir) => FileClaimStore.layer.pipe(Layer.provide(StateDir.layer(join(dir, "state"))), Layer.provide(NodeFileSystem.layer)))

const stores = [
  { name: "memory", layer: Effect.succeed(MemoryClaimStore.layer) },
  { name: "file", layer: fileLayer }
] as const

/** Run the ops against the store and the model; fail the property on the first disagreement. */
const agreesWithModel = (ops: ReadonlyArray<Op>) => Effect.gen(function* () {
  const store = yield* ClaimStore
  const model = new Map<LeaseId, Claim>()
  for (const [step, op] of ops.entries()) {
    const stored = model.get(op.id)
    const snapshot = (s: Snapshot) => s.kind === "current" ? stored ?? claimOf(op.id, { state: "ready", minute: 0, cloudId: undefined, labels: {} }) : claimOf(op.id, s.variant)
    let expectOk: boolean
    let result: Either.Either<void, { readonly _tag: string }>
    switch (op.op) {
      case "create": {
        expectOk = stored === undefined
        result = yield* Effect.either(store.create(claimOf(op.id, op.variant)))
        if (expectOk) model.set(op.id, claimOf(op.id, op.variant))
        break
      }
      case "replace": {
        const expected = snapshot(op.expected)
        expectOk = stored !== undefined && isDeepStrictEqual(stored, expected)
        result = yield* Effect.either(store.replace(expected, claimOf(op.id, op.next)))
        if (expectOk) model.set(op.id, claimOf(op.id, op.next))
        break
      }
      case "remove": {
        const expected = snapshot(op.expected)
        expectOk = stored !== undefined && isDeepStrictEqual(stored, expected)
        result = yield* Effect.either(store.remove(expected))
        if (expectOk) model.delete(op.id)
        break
      }
    }
    const outcome = Either.match(result, { onLeft: (e) => e._tag, onRight: () => "ok" })
    assert.strictEqual(outcome, expectOk ? "ok" : "ClaimChanged", `step ${step}: ${JSON.stringify(op)}`)
    const listed = yield* store.list
    const modelled = [...model.values()].sort((a, b) => a.leaseId.localeCompare(b.leaseId))
    assert.deepStrictEqual(listed, modelled, `after step ${step}`)
    assert.deepStrictEqual(yield* store.get(op.id), Option.fromNullable(model.get(op.id)), `get after step ${step}`)
  }
})

describe("ClaimStore agrees with the model", () => {
  for (const { name, layer } of stores) {
    it.effect.prop(`${name}: random create/replace/remove sequences`, { ops: FastCheck.array(opArb, { maxLength: 25 }) }, ({ ops }) =>
      Effect.scoped(Effect.flatMap(layer, (l) => Effect.provide(agreesWithModel(ops), l))),
    { fastCheck: { numRuns: 40 } })

    it.effect.prop(`${name}: of racing replaces from one snapshot, exactly one wins`, { racers: FastCheck.integer({ min: 2, max: 6 }), variant: variantArb }, ({ racers, variant }) =>
      Effect.scoped(Effect.flatMap(layer, (l) => Effect.provide(Effect.gen(function* () {
        const store = yield* ClaimStore
        const start = claimOf(ids[0]!, variant)
        // Each racer's next claim differs from the snapshot and from the others.
        const nexts = Array.from({ length: racers }, (_, i) => ({ ...start, slug: `racer-${i}` }))
        yield* store.create(start)
        const results = yield* Effect.all(nexts.map((next) => Effect.either(store.replace(start, next))), { concurrency: "unbounded" })
        const winners = results.flatMap((r, i) => (Either.isRight(r) ? [i] : []))
        assert.strictEqual(winners.length, 1)
        assert.isTrue(results.every((r) => Either.isRight(r) || r.left._tag === "ClaimChanged"))
        assert.deepStrictEqual(yield* store.list, [nexts[winners[0]!]!])
      }), l))),
    { fastCheck: { numRuns: 15 } })
  }
})
