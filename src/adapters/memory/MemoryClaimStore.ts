/**
 * In-memory ClaimStore with the file store's semantics: compare-and-swap with
 * ClaimChanged, per-lease locks that mutations also take, claims that must survive a JSON
 * round trip. Public API, for users' tests; each `layer` build has its own state.
 */
import type { Scope } from "effect"
import { Effect, FiberRef, HashMap, HashSet, Layer, Option, Ref, Schema, SynchronizedRef } from "effect"
import { Claim, ClaimJson } from "../../domain/claim.js"
import { ClaimChanged, ClaimStoreError } from "../../domain/errors.js"
import type { LeaseId } from "../../domain/ids.js"
import { ClaimStore } from "../../ports/ClaimStore.js"

/**
 * The in-process half of a lease lock: one semaphore per lease id, re-entrant through a
 * FiberRef. Re-entrancy is what lets `create`/`replace`/`remove` take the lock themselves
 * and still be called inside `withLock` for the same lease (a workflow reads, decides and
 * writes under one lock). Internal unlocked variants would not help: the port's methods
 * are the only ones a workflow can call.
 *
 * "Held" is inherited by fibers forked while holding (they act for the holder; they are
 * not excluded from each other), and a child's view never flows back on join, so a fiber
 * that outlives `withLock` cannot leak "held" into its parent. The FileClaimStore reuses
 * this as its first half, so both stores lock alike.
 */
export interface LeaseLocks {
  /** Whether the current fiber holds `id`'s lock (itself, or through a fiber that forked it). */
  readonly isHeld: (id: LeaseId) => Effect.Effect<boolean>
  /** Run `use` holding `id`'s semaphore, marked held. Not re-entrant by itself: check `isHeld` first. */
  readonly exclusive: <A, E, R>(id: LeaseId, use: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const makeLeaseLocks: Effect.Effect<LeaseLocks, never, Scope.Scope> = Effect.gen(function* () {
  // Semaphores are never dropped: one per lease this process touched is a few bytes, and
  // dropping one while a fiber waits on it would let a second holder in.
  const semaphores = yield* SynchronizedRef.make(HashMap.empty<LeaseId, Effect.Semaphore>())
  const held = yield* FiberRef.make(HashSet.empty<LeaseId>(), { join: (parent) => parent })
  const semaphoreFor = (id: LeaseId) =>
    SynchronizedRef.modifyEffect(semaphores, (map) =>
      Option.match(HashMap.get(map, id), {
        onSome: (semaphore) => Effect.succeed([semaphore, map] as const),
        onNone: () => Effect.map(Effect.makeSemaphore(1), (semaphore) => [semaphore, HashMap.set(map, id, semaphore)] as const)
      }))
  return {
    isHeld: (id) => FiberRef.getWith(held, (ids) => Effect.succeed(HashSet.has(ids, id))),
    exclusive: (id, use) =>
      Effect.flatMap(semaphoreFor(id), (semaphore) =>
        semaphore.withPermits(1)(FiberRef.getWith(held, (ids) => Effect.locally(use, held, HashSet.add(ids, id)))))
  }
})

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
