/** `crabbox status` for delegated providers: the provider's view; `--wait` polls until it is ready. */
import { Duration, Effect, Option, Schedule } from "effect"
import { ReadinessFailed, ReadinessTimedOut } from "../../domain/errors.js"
import type { StatusView } from "../../domain/leaseView.js"
import { Stdio } from "../../ports/Stdio.js"
import { nowMillis } from "../leases/clockTime.js"
import type { DelegatedRunBackend } from "../providers/backend.js"

/** States a lease never becomes ready from (reference: core section 5, plus Freestyle's `lost`). */
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  "deleting", "deleted", "expired", "failed", "missing", "released", "stopped", "stopped_with_code", "terminated", "lost"
])

export const delegatedStatusWorkflow = (
  backend: DelegatedRunBackend,
  input: { readonly id: string; readonly repoRoot: string; readonly wait: Option.Option<Duration.Duration> }
) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const look = backend.status({ id: input.id, repoRoot: input.repoRoot, reclaim: false, readOnly: true })
    const first = yield* look
    if (first.ready || Option.isNone(input.wait)) return first
    const limit = input.wait.value
    const start = yield* nowMillis
    const terminal = (v: StatusView) => TERMINAL_STATES.has(v.status.toLowerCase())
    const check = (v: StatusView) => terminal(v)
      ? Effect.fail(new ReadinessFailed({ leaseId: v.leaseId, message: `lease ${v.slug} entered terminal state ${v.status}` }))
      : Effect.succeed(v)
    const untilReady: Schedule.Schedule<StatusView, StatusView> = Schedule.spaced("2 seconds").pipe(
      Schedule.untilInput((v: StatusView) => v.ready),
      Schedule.passthrough)
    const poll = look.pipe(
      Effect.flatMap(check),
      Effect.tap((v) => v.ready ? Effect.void : Effect.flatMap(nowMillis, (now) =>
        stdio.err(`waiting for ${v.slug} provider=${v.provider} state=${v.status} elapsed=${Math.round((now - start) / 1000)}s`))),
      Effect.repeat(untilReady))
    return yield* check(first).pipe(
      Effect.zipRight(poll),
      Effect.timeoutFail({
        duration: limit,
        onTimeout: () => new ReadinessTimedOut({ leaseId: first.leaseId, message: `timed out waiting for ${first.slug} to become ready after ${Duration.format(limit)}` })
      })
    )
  })
