/**
 * In-memory ClaimStore with the file store's semantics: compare-and-swap with
 * ClaimChanged, per-lease locks that mutations also take, claims that must survive a JSON
 * round trip. Public API, for users' tests; each `layer` build has its own state.
 */
import { Effect, HashMap, Layer, Option, Ref, Schema } from "effect"
import { Claim, ClaimJson } from "../../domain/claim.js"
import { ClaimChanged, ClaimStoreError } from "../../domain/errors.js"
import type { LeaseId } from "../../domain/ids.js"
import { ClaimStore } from "../../ports/ClaimStore.js"
import { makeLeaseLocks } from "../shared/leaseLocks.js"

const sameClaim = Schema.equivalence(Claim)

/** What a file store would give back: the claim after encoding to JSON and decoding. */
const throughJson = (claim: Claim, operation: string): Effect.Effect<Claim, ClaimStoreError> =>
  Schema.encode(ClaimJson)(claim).pipe(
    Effect.flatMap(Schema.decode(ClaimJson)),
    Effect.filterOrFail((back) => sameClaim(back, claim), () => "changes when written as JSON (NaN or Infinity?)"),
    Effect.mapError((e) =>
      new ClaimStoreError({ operation, path: `memory:${claim.leaseId}`, message: `claim is not storable: ${String(e)}` }))
  )

const changed = (id: LeaseId) => new ClaimChanged({ leaseId: id })

export const layer: Layer.Layer<ClaimStore> = Layer.scoped(ClaimStore, Effect.gen(function* () {
  const claims = yield* Ref.make(HashMap.empty<LeaseId, Claim>())
  const locks = yield* makeLeaseLocks

  const withLock = <A, E, R>(id: LeaseId, use: Effect.Effect<A, E, R>) =>
    Effect.flatMap(locks.isHeld(id), (held) => (held ? use : locks.exclusive(id, use)))

  const current = (id: LeaseId) => Effect.map(Ref.get(claims), HashMap.get(id))

  // The stored claim must still deeply equal `expected`; absent counts as changed.
  const expectStored = (expected: Claim) =>
    Effect.flatMap(current(expected.leaseId), (stored) =>
      Option.isSome(stored) && sameClaim(stored.value, expected) ? Effect.void : Effect.fail(changed(expected.leaseId)))

  return ClaimStore.of({
    get: current,
    list: Effect.map(Ref.get(claims), (map) =>
      Array.from(HashMap.values(map)).sort((a, b) => a.leaseId.localeCompare(b.leaseId))),
    create: (claim) =>
      withLock(claim.leaseId, Effect.gen(function* () {
        const stored = yield* throughJson(claim, "create")
        if (Option.isSome(yield* current(claim.leaseId))) return yield* changed(claim.leaseId)
        yield* Ref.update(claims, HashMap.set(claim.leaseId, stored))
      })),
    replace: (expected, next) =>
      next.leaseId !== expected.leaseId
        ? Effect.dieMessage(`ClaimStore.replace: ${expected.leaseId} cannot become ${next.leaseId}`)
        : withLock(expected.leaseId, Effect.gen(function* () {
          const stored = yield* throughJson(next, "replace")
          yield* expectStored(expected)
          yield* Ref.update(claims, HashMap.set(next.leaseId, stored))
        })),
    remove: (expected) =>
      withLock(expected.leaseId, Effect.zipRight(expectStored(expected), Ref.update(claims, HashMap.remove(expected.leaseId)))),
    withLock
  })
}))
