import { Effect, Fiber } from "effect"

/**
 * Run `effect` to completion from a finalizer. Finalizers are uninterruptible, and work that
 * races or times out inside (SSH channels, lock waits) needs to interrupt its own losers;
 * a fresh fiber has no pending interruption and runs normally, while the finalizer waits.
 * The work must bound itself (connect and lock timeouts do).
 */
export const runDetached = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  // a forked fiber inherits the finalizer's uninterruptible flag: give it back explicitly
  Effect.flatMap(Effect.forkDaemon(Effect.interruptible(effect)), Fiber.join)
