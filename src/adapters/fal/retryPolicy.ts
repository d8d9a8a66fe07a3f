/**
 * Retries for the reads and the delete (never the create: the backend replays a create
 * with the same idempotency key, inside fal's window, after recording the intent).
 */
import { Duration, Effect, Schedule } from "effect"
import type { ComputeApiError } from "../../domain/errors.js"

export interface RetryOptions {
  /** first backoff delay; doubles each time, jittered */
  readonly retryBaseDelay: Duration.DurationInput
  /** cap on every wait, a server's Retry-After included */
  readonly retryMaxDelay: Duration.DurationInput
  /** retries after the first attempt */
  readonly retries: number
}

// not-implemented is a 5xx that retrying cannot fix, so it has its own kind and is not here.
const TRANSIENT: ReadonlySet<ComputeApiError["kind"]> = new Set(["rate-limited", "server", "timeout", "transport"])

export const isTransient = (error: ComputeApiError): boolean => TRANSIENT.has(error.kind)

/**
 * Exponential backoff, jittered before the cap so the cap stays hard, at most `retries`
 * times; each wait is at least the server's Retry-After (itself capped), when it sent one.
 */
export const retrySchedule = (options: RetryOptions): Schedule.Schedule<unknown, ComputeApiError> => {
  const cap = Duration.decode(options.retryMaxDelay)
  const backoff = Schedule.exponential(options.retryBaseDelay, 2).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced(cap)),
    Schedule.intersect(Schedule.recurs(options.retries)))
  const retryAfter = Schedule.identity<ComputeApiError>().pipe(
    Schedule.addDelay((error) => Duration.min(Duration.millis(error.retryAfterMs ?? 0), cap)))
  return Schedule.intersect(backoff, retryAfter)
}

export const withRetries = (options: RetryOptions) =>
  <A>(effect: Effect.Effect<A, ComputeApiError>): Effect.Effect<A, ComputeApiError> =>
    Effect.retry(effect, { schedule: retrySchedule(options), while: isTransient })
