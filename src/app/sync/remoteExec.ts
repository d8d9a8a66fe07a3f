/**
 * Run one remote command to completion: feed its stdin from a stream while draining
 * stdout and stderr (both must be read, they apply backpressure), then judge the exit
 * code. A non-zero exit becomes a `SyncError` carrying the tail of stderr.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import { SshError, SyncError } from "../../domain/errors.js"
import type { SshSession } from "../../ports/SshTransport.js"

export interface RemoteOutput {
  readonly stdout: string
  readonly stderr: string
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

/** Keep only the last few KiB: enough to explain a failure, bounded whatever the remote prints. */
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

export const runRemote = <E>(
  session: SshSession,
  what: string,
  command: string,
  stdin: Stream.Stream<Uint8Array, E>
): Effect.Effect<RemoteOutput, E | SshError | SyncError> =>
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
    }, { concurrency: "unbounded" }).pipe(
      Effect.filterOrFail(
        ({ status }) => status.code === 0,
        ({ status, stderr }) => new SyncError({
          message: `remote ${what} failed (exit ${status.code}${status.signal ? `, ${status.signal}` : ""})` +
            (stderr.trim() ? `: ${stderr.trim()}` : "")
        })
      )
    )
    const [fed, done] = yield* Effect.all([feed, finish], { concurrency: "unbounded" })
    if (Option.isSome(fed)) return yield* fed.value
    return { stdout: done.stdout, stderr: done.stderr }
  }))
