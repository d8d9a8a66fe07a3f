/**
 * Run one command in a session and stream its output to the local stdout/stderr
 * unbuffered; local piped stdin is forwarded. Yields the remote exit status.
 */
import { Effect, Option, Stream } from "effect"
import type { ExecRequest, SshSession } from "../../ports/SshTransport.js"
import { Stdio } from "../../ports/Stdio.js"

export const streamRemoteCommand = (session: SshSession, request: ExecRequest, forwardStdin: boolean) =>
  Effect.scoped(Effect.gen(function* () {
    const stdio = yield* Stdio
    const proc = yield* session.exec(request)
    const input = forwardStdin ? Option.getOrElse(stdio.pipedStdin, () => Stream.empty) : Stream.empty
    // stdin runs on its own: a command that never reads stdin must still be able to finish.
    yield* Effect.forkScoped(Stream.run(input, proc.stdin).pipe(Effect.ignore))
    yield* Effect.all([Stream.run(proc.stdout, stdio.stdout), Stream.run(proc.stderr, stdio.stderr)], {
      concurrency: 2,
      discard: true
    })
    return yield* proc.exit
  }))

/** Run a short helper command and collect its stdout as text (for small outputs only). */
export const captureRemote = (session: SshSession, command: string) =>
  Effect.scoped(Effect.gen(function* () {
    const proc = yield* session.exec({ command })
    yield* Effect.forkScoped(Stream.run(Stream.empty, proc.stdin).pipe(Effect.ignore))
    const [out, err] = yield* Effect.all([
      Stream.decodeText(proc.stdout).pipe(Stream.mkString),
      Stream.decodeText(proc.stderr).pipe(Stream.mkString)
    ], { concurrency: 2 })
    const status = yield* proc.exit
    return { stdout: out, stderr: err, code: status.code }
  }))
