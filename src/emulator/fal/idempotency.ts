/**
 * fal's create idempotency: "responses cached for 10 minutes per unique key". The emulator
 * caches the 201 of a create (status and body, as first sent) for the window, counted from
 * the create. Choices where fal says nothing:
 *
 * - a replay gets the cached response as it was (201, the status of that moment), not the
 *   instance's current state, and it gets it even when the instance was deleted since;
 * - the same key with a different request (type, key or sector) is a 400 `validation_error`
 *   and creates nothing (a client bug, not an ambiguous outcome, so no 409);
 * - only successes are cached: a failed create (validation, injected 5xx) can be retried
 *   with the same key and then creates;
 * - keys are per emulator (fal's scope, per account or per key, is not documented).
 */
import { Duration, Effect, HashMap, Option, Ref } from "effect"

export interface CachedCreate {
  /** canonical request (`instance_type`, `ssh_key`, `sector`) the key was first used with */
  readonly request: string
  readonly status: number
  readonly body: unknown
  readonly storedAt: number
}

export type Replay =
  | { readonly _tag: "Miss" }
  | { readonly _tag: "Hit"; readonly cached: CachedCreate }
  | { readonly _tag: "Mismatch" }

export const makeIdempotencyCache = (window: Duration.Duration) =>
  Effect.gen(function* () {
    const ref = yield* Ref.make(HashMap.empty<string, CachedCreate>())
    const windowMs = Duration.toMillis(window)
    const fresh = (entry: CachedCreate, now: number) => now - entry.storedAt < windowMs
    return {
      lookup: (key: string, request: string, now: number): Effect.Effect<Replay> =>
        Ref.modify(ref, (cache) => {
          const live = HashMap.filter(cache, (entry) => fresh(entry, now))
          const replay: Replay = Option.match(HashMap.get(live, key), {
            onNone: () => ({ _tag: "Miss" }),
            onSome: (cached) => (cached.request === request ? { _tag: "Hit", cached } : { _tag: "Mismatch" })
          })
          return [replay, live]
        }),
      store: (key: string, entry: CachedCreate) => Ref.update(ref, HashMap.set(key, entry))
    }
  })

export type IdempotencyCache = Effect.Effect.Success<ReturnType<typeof makeIdempotencyCache>>
