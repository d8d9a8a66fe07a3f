/**
 * Injected faults: their text syntax and the plan the API and SSH gateway consult.
 *
 *   lose-create[:N]                the next N successful create responses (new or replayed) are
 *                                  lost as a 500; the instance is created all the same
 *   drop-create[:N]                as lose-create, but the connection is cut with no response
 *   lose-delete[:N]                the next N deletes delete, then answer 500
 *   fail:<op>:<status>[:N[:S]]     the next N calls of op (list, get, create, delete) answer
 *                                  <status> (400-599) and do nothing; S is Retry-After seconds
 *                                  (429 and 503 send Retry-After: 1 unless given)
 *   rate-limit:<op>[:N[:S]]        fail:<op>:429:N:S
 *   fail-delete[:N]                fail:delete:500:N
 *   never-ready                    instances created from now on stay provisioning
 *   stopped[:<duration>]           instances created from now on go stopped: <duration> after
 *                                  becoming ready, or instead of becoming ready when absent
 *   slow-ssh:<duration>            every new SSH connection waits <duration> before the handshake
 *
 * N defaults to 1. Durations as in crabbox's flags (500ms, 3s, 1m). Faults that need an
 * account of requests (the counted ones) apply to requests that passed the key check.
 */
import { Duration, Effect, Either, Option, Ref } from "effect"
import type { FalFault, FalOperation } from "../../app/cli/falEmulator.js"
import { formatDuration, parseDuration } from "../../domain/duration.js"

const OPERATIONS: ReadonlyArray<FalOperation> = ["list", "get", "create", "delete"]

const count = (text: string | undefined): Either.Either<number, string> =>
  text === undefined ? Either.right(1)
    : /^[1-9][0-9]{0,5}$/.test(text) ? Either.right(Number(text))
    : Either.left(`count ${JSON.stringify(text)} is not a whole number of at least 1`)

const operation = (text: string | undefined): Either.Either<FalOperation, string> =>
  OPERATIONS.includes(text as FalOperation)
    ? Either.right(text as FalOperation)
    : Either.left(`operation ${JSON.stringify(text ?? "")} is not one of ${OPERATIONS.join(", ")}`)

const duration = (text: string | undefined): Either.Either<Duration.Duration, string> =>
  text === undefined ? Either.left("a duration is missing")
    : Either.mapLeft(parseDuration(text), (why) => `duration ${JSON.stringify(text)}: ${why}`)

const failing = (op: string | undefined, statusText: string | undefined, n: string | undefined, seconds: string | undefined) =>
  Either.gen(function* () {
    const status = Number(statusText)
    if (!/^[45][0-9][0-9]$/.test(statusText ?? "")) {
      return yield* Either.left(`status ${JSON.stringify(statusText ?? "")} is not an HTTP error status (400-599)`)
    }
    const retry = seconds === undefined ? undefined : /^[0-9]{1,5}$/.test(seconds) ? Number(seconds) : Number.NaN
    if (Number.isNaN(retry)) return yield* Either.left(`Retry-After ${JSON.stringify(seconds)} is not whole seconds`)
    return {
      kind: "fail" as const, operation: yield* operation(op), status, count: yield* count(n),
      ...(retry === undefined ? {} : { retryAfterSeconds: retry })
    } satisfies FalFault
  })

const noMore = (parts: ReadonlyArray<string>, allowed: number) =>
  parts.length > allowed ? Either.left(`too many ":" parts`) : Either.right(undefined)

export const FAULT_SYNTAX =
  "lose-create[:N], drop-create[:N], lose-delete[:N], fail:<list|get|create|delete>:<status>[:N[:retry-after-s]], " +
  "rate-limit:<op>[:N[:s]], fail-delete[:N], never-ready, stopped[:<duration>], slow-ssh:<duration>"

export const parseFault = (text: string): Either.Either<FalFault, string> => {
  const [name = "", ...parts] = text.trim().split(":")
  const parsed: Either.Either<FalFault, string> = Either.gen(function* () {
    switch (name) {
      case "lose-create":
      case "drop-create":
      case "lose-delete":
        yield* noMore(parts, 1)
        return { kind: name, count: yield* count(parts[0]) }
      case "fail":
        yield* noMore(parts, 4)
        return yield* failing(parts[0], parts[1], parts[2], parts[3])
      case "rate-limit":
        yield* noMore(parts, 3)
        return yield* failing(parts[0], "429", parts[1], parts[2])
      case "fail-delete":
        yield* noMore(parts, 1)
        return yield* failing("delete", "500", parts[0], undefined)
      case "never-ready":
        yield* noMore(parts, 0)
        return { kind: "never-ready" }
      case "stopped":
        yield* noMore(parts, 1)
        return { kind: "stopped", after: parts[0] === undefined ? Duration.zero : yield* duration(parts[0]) }
      case "slow-ssh":
        yield* noMore(parts, 1)
        return { kind: "slow-ssh", delay: yield* duration(parts[0]) }
      default:
        return yield* Either.left(`unknown fault ${JSON.stringify(name)}`)
    }
  })
  return Either.mapLeft(parsed, (why) => `--fault ${JSON.stringify(text)}: ${why} (faults: ${FAULT_SYNTAX})`)
}

export const formatFault = (fault: FalFault): string => {
  switch (fault.kind) {
    case "lose-create":
    case "drop-create":
    case "lose-delete":
      return `${fault.kind}:${fault.count}`
    case "fail":
      return `fail:${fault.operation}:${fault.status}:${fault.count}` +
        (fault.retryAfterSeconds === undefined ? "" : `:${fault.retryAfterSeconds}`)
    case "never-ready":
      return "never-ready"
    case "stopped":
      return Duration.toMillis(fault.after) === 0 ? "stopped" : `stopped:${formatDuration(Duration.toMillis(fault.after))}`
    case "slow-ssh":
      return `slow-ssh:${formatDuration(Duration.toMillis(fault.delay))}`
  }
}

/** An injected failure answer: the status, and Retry-After seconds when one is sent. */
export interface InjectedFailure {
  readonly status: number
  readonly retryAfterSeconds: number | undefined
}

type Counted = Extract<FalFault, { readonly count: number }>

/** Uses up one of the first fault `pick` accepts; counts that reach zero leave the plan. */
const takeOne = <A>(faults: ReadonlyArray<FalFault>, pick: (f: FalFault) => f is Counted & A) => {
  const at = faults.findIndex(pick)
  const found = faults[at]
  if (found === undefined || !pick(found)) return [Option.none<A>(), faults] as const
  const rest = found.count > 1
    ? faults.map((f, i) => (i === at ? { ...found, count: found.count - 1 } : f))
    : faults.filter((_, i) => i !== at)
  return [Option.some<A>(found), rest] as const
}

export const makeFaultPlan = (initial: ReadonlyArray<FalFault>) =>
  Effect.gen(function* () {
    const ref = yield* Ref.make<ReadonlyArray<FalFault>>(initial)
    const last = <K extends FalFault["kind"]>(kind: K) =>
      Ref.get(ref).pipe(Effect.map((faults) =>
        Option.fromNullable(faults.filter((f): f is Extract<FalFault, { kind: K }> => f.kind === kind).at(-1))))
    return {
      active: Ref.get(ref),
      add: (faults: ReadonlyArray<FalFault>) => Ref.update(ref, (now) => [...now, ...faults]),
      clear: Ref.set(ref, []),
      /** a `fail` fault for this operation, used up */
      failure: (op: FalOperation): Effect.Effect<Option.Option<InjectedFailure>> =>
        Ref.modify(ref, (faults) => {
          const [found, rest] = takeOne(faults, (f): f is Extract<FalFault, { kind: "fail" }> => f.kind === "fail" && f.operation === op)
          const failure = Option.map(found, (f) => ({
            status: f.status,
            retryAfterSeconds: f.retryAfterSeconds ?? (f.status === 429 || f.status === 503 ? 1 : undefined)
          }))
          return [failure, rest]
        }),
      /** how a successful create's response goes: sent, lost as a 500, or dropped */
      createOutcome: Ref.modify(ref, (faults) => {
        const [found, rest] = takeOne(faults, (f): f is Extract<FalFault, { kind: "lose-create" | "drop-create" }> =>
          f.kind === "lose-create" || f.kind === "drop-create")
        return [Option.match(found, { onNone: () => "sent" as const, onSome: (f) => f.kind }), rest]
      }),
      /** whether a successful delete's response is lost */
      loseDelete: Ref.modify(ref, (faults) => {
        const [found, rest] = takeOne(faults, (f): f is Extract<FalFault, { kind: "lose-delete" }> => f.kind === "lose-delete")
        return [Option.isSome(found), rest]
      }),
      neverReady: Ref.get(ref).pipe(Effect.map((faults) => faults.some((f) => f.kind === "never-ready"))),
      /** the latest stopped fault's delay after readiness */
      stoppedAfter: last("stopped").pipe(Effect.map(Option.map((f) => f.after))),
      /** the latest slow-ssh delay, zero without one */
      sshDelay: last("slow-ssh").pipe(Effect.map(Option.match({ onNone: () => Duration.zero, onSome: (f) => f.delay })))
    }
  })

export type FaultPlan = Effect.Effect.Success<ReturnType<typeof makeFaultPlan>>
