/**
 * Poll the instance until the API says ready with an address, printing a progress line
 * whenever the status changes and at least every `progressEvery`. `terminated` or a status
 * the adapter does not know fail at once; the wait is capped by `readyTimeout`.
 */
import { Duration, Effect, Option, Ref, Schedule } from "effect"
import { type ComputeApiError, ReadinessFailed, ReadinessTimedOut } from "../../../domain/errors.js"
import type { ComputeApiService, ComputeInstance } from "../../../ports/ComputeApi.js"
import { Stdio } from "../../../ports/Stdio.js"
import { nowMillis } from "../../leases/clockTime.js"
import type { ComputeTiming } from "./settings.js"

/** Quick first polls (an emulator or a warm pool is ready in seconds), then every `interval`. */
export const pollSchedule = (interval: Duration.DurationInput) =>
  Schedule.exponential("250 millis", 2).pipe(Schedule.union(Schedule.spaced(interval)))

class NotReadyYet {
  readonly _tag = "NotReadyYet"
}

export const waitForInstance = (input: {
  readonly api: ComputeApiService
  readonly leaseId: string
  readonly id: string
  readonly timing: ComputeTiming
}) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const { api, id, leaseId, timing } = input
    const provider = api.capabilities.provider
    const start = yield* nowMillis
    const lastShown = yield* Ref.make({ status: "", at: 0 })
    const every = Duration.toMillis(Duration.decode(timing.progressEvery))

    const check: Effect.Effect<{ readonly instance: ComputeInstance; readonly host: string }, NotReadyYet | ReadinessFailed | ComputeApiError> =
      Effect.gen(function* () {
        const instance = yield* api.get(id)
        const now = yield* nowMillis
        const shown = yield* Ref.get(lastShown)
        if (shown.status !== instance.rawStatus || now - shown.at >= every) {
          yield* Ref.set(lastShown, { status: instance.rawStatus, at: now })
          yield* stdio.err(`${provider}: ${id} ${instance.rawStatus || "unknown"} elapsed=${Math.round((now - start) / 1000)}s`)
        }
        if (instance.status === "terminated" || instance.status === "unrecognized") {
          return yield* new ReadinessFailed({
            leaseId,
            message: `${provider} instance ${id} is ${JSON.stringify(instance.rawStatus)} and will not become ready`
          })
        }
        if (instance.status === "ready") {
          if (Option.isSome(instance.host)) return { instance, host: instance.host.value }
          return yield* new ReadinessFailed({ leaseId, message: `${provider} instance ${id} is ready without an SSH address` })
        }
        return yield* Effect.fail(new NotReadyYet())
      })

    return yield* check.pipe(
      Effect.retry({
        schedule: pollSchedule(timing.pollInterval).pipe(Schedule.upTo(Duration.decode(timing.readyTimeout))),
        while: (e) => e instanceof NotReadyYet
      }),
      Effect.catchIf((e): e is NotReadyYet => e instanceof NotReadyYet, () =>
        new ReadinessTimedOut({
          leaseId,
          message: `${provider} instance ${id} was not ready after ${Duration.format(Duration.decode(timing.readyTimeout))}`
        }))
    )
  })
