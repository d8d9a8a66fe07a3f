/** Per-lease in-process locks shared by the claim stores (file and memory lock alike). */
import type { Scope } from "effect"
import { Effect, FiberRef, HashMap, HashSet, Option, SynchronizedRef } from "effect"
import type { LeaseId } from "../../domain/ids.js"

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
