/**
 * Running commands in a lease's session: streamed to the local terminal (the user's
 * command), or collected (crabbox's own small helper commands: mkdir, rm, sync scripts).
 */
import { Chunk, Effect, Option, Stream } from "effect"
import { SshError } from "../../domain/errors.js"
import type { ExecRequest, ExitStatus, SshSession } from "../../ports/SshTransport.js"
import { Stdio } from "../../ports/Stdio.js"

/** Stream stdout/stderr to the local ones unbuffered, forward piped stdin; yields the exit status. */
export const streamRemoteCommand = (session: SshSession, request: ExecRequest) =>
  Effect.scoped(Effect.gen(function* () {
    const stdio = yield* Stdio
    const proc = yield* session.exec(request)
    const input = Option.getOrElse(stdio.pipedStdin, () => Stream.empty)
    // stdin runs on its own: a command that never reads stdin must still be able to finish.
    yield* Effect.forkScoped(Stream.run(input, proc.stdin).pipe(Effect.ignore))
    yield* Effect.all([Stream.run(proc.stdout, stdio.stdout), Stream.run(proc.stderr, stdio.stderr)], {
      concurrency: 2,
      discard: true
    })
    return yield* proc.exit
  }))

export interface CollectedOutput {
  readonly stdout: string
  /** the last few KiB only: enough to explain a failure, bounded whatever the remote prints */
  readonly stderr: string
  readonly status: ExitStatus
}

const stderrTailBytes = 4096

const concat = (chunks: Chunk.Chunk<Uint8Array>): Uint8Array => {
  const all = Chunk.toReadonlyArray(chunks)
  const out = new Uint8Array(all.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const c of all) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}

const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

const collectTail = (stream: Stream.Stream<Uint8Array, SshError>) =>
  Stream.runFold(stream, { chunks: Chunk.empty<Uint8Array>(), size: 0 }, ({ chunks, size }, chunk) => {
    let kept: Chunk.Chunk<Uint8Array> = Chunk.append(chunks, chunk)
    let total = size + chunk.byteLength
    while (Chunk.size(kept) > 1 && total - Chunk.unsafeHead(kept).byteLength >= stderrTailBytes) {
      total -= Chunk.unsafeHead(kept).byteLength
      kept = Chunk.drop(kept, 1)
    }
    return { chunks: kept, size: total }
  }).pipe(Effect.map(({ chunks }) => decode(concat(chunks)).slice(-stderrTailBytes)))

/**
 * Feed stdin from `stdin` while collecting stdout (whole) and stderr (tail), then the exit
 * status. The exit code is not judged here: callers decide what non-zero means.
 */
export const runRemoteCommand = <E>(
  session: SshSession,
  command: string,
  stdin: Stream.Stream<Uint8Array, E>
): Effect.Effect<CollectedOutput, E | SshError> =>
  Effect.scoped(Effect.gen(function* () {
    const proc = yield* session.exec({ command })
    // A channel error while writing usually means the remote side died first; hold it
    // back so the exit status and stderr, which say why, get reported instead. Local
    // failures (reading a file) still end everything at once.
    const feed = Stream.run(stdin, proc.stdin).pipe(
      Effect.as(Option.none<SshError>()),
      Effect.catchIf((e): e is Extract<E | SshError, SshError> => e instanceof SshError, (e) => Effect.succeed(Option.some(e)))
    )
    const finish = Effect.all({
      stdout: Stream.runCollect(proc.stdout).pipe(Effect.map((c) => decode(concat(c)))),
      stderr: collectTail(proc.stderr),
      status: proc.exit
    }, { concurrency: "unbounded" })
    const [fed, done] = yield* Effect.all([feed, finish], { concurrency: "unbounded" })
    if (Option.isSome(fed) && done.status.code === 0) return yield* fed.value
    return done
  }))

/** A small helper command with no stdin. */
export const captureRemote = (session: SshSession, command: string) =>
  runRemoteCommand(session, command, Stream.empty)
