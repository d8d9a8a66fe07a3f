/** Wall-clock time from Effect's Clock (TestClock in tests), as RFC 3339 UTC. */
import { Clock, Effect } from "effect"

export const nowMillis = Clock.currentTimeMillis

export const nowIso = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())
