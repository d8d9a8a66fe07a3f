/**
 * Port: the process's standard streams. Results go to stdout, progress and decisions to
 * stderr; remote command output is raw bytes and goes through the sinks unbuffered.
 */
import type { Effect, Option, Sink, Stream } from "effect"
import { Context } from "effect"

export class Stdio extends Context.Tag("crabbox/Stdio")<Stdio, {
  /** one result line on stdout (newline added) */
  readonly out: (line: string) => Effect.Effect<void>
  /** one progress/warning line on stderr (newline added) */
  readonly err: (line: string) => Effect.Effect<void>
  /** raw bytes to stdout / stderr, honouring backpressure */
  readonly stdout: Sink.Sink<void, Uint8Array>
  readonly stderr: Sink.Sink<void, Uint8Array>
  /** local stdin when it is piped (not a terminal); None when interactive or absent */
  readonly pipedStdin: Option.Option<Stream.Stream<Uint8Array>>
  readonly stdoutIsTty: boolean
  /** interactive terminal for `crabbox ssh`: raw-mode stdin and size; None when not a TTY */
  readonly terminal: Option.Option<{
    readonly input: Stream.Stream<Uint8Array>
    readonly size: Effect.Effect<{ readonly cols: number; readonly rows: number }>
    /** put the terminal in raw mode for the scope's lifetime */
    readonly rawMode: Effect.Effect<void, never, import("effect").Scope.Scope>
  }>
}>() {}
