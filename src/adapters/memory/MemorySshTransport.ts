/**
 * In-memory SshTransport for tests: no network, each command is answered by a handler.
 * It keeps the real adapter's contract where a test could notice: host-key pinning, the
 * RemoteProcess shape (stdin ends, then output and exit), probe's `true` and deadline.
 */
import type { Duration, Scope } from "effect"
import { Chunk, Deferred, Effect, Layer, Sink, Stream } from "effect"
import { HostKeyMismatch, SshError } from "../../domain/errors.js"
import type { HostKey, SshTarget } from "../../domain/sshTarget.js"
import type { ExecRequest, RemoteProcess, SshSession } from "../../ports/SshTransport.js"
import { SshTransport } from "../../ports/SshTransport.js"
import { fingerprint, sameHostKey } from "../shared/hostKeyFingerprint.js"

export interface MemoryResult {
  readonly stdout?: Uint8Array | string
  readonly stderr?: Uint8Array | string
  readonly code: number
}

/**
 * Answers one command. It runs once the caller has ended stdin and sees all of it, so feed
 * the process's stdin (`Stream.empty` when there is nothing to send) or the handler never
 * runs. A shell arrives as `{ command: "", pty }` with what was typed as its stdin.
 */
export type MemoryHandler = (request: ExecRequest, stdin: Uint8Array) => Effect.Effect<MemoryResult, SshError>

export interface MemorySshOptions {
  readonly handler: MemoryHandler
  /** The key the fake server presents; `defaultHostKey` when absent. */
  readonly hostKey?: HostKey
  /** Every connect (and probe) fails with this. */
  readonly failConnect?: SshError
}

/** A well-formed ssh-ed25519 blob with a fixed made-up key. */
export const defaultHostKey: HostKey = {
  algorithm: "ssh-ed25519",
  base64: Buffer.concat([
    Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 0x2a)
  ]).toString("base64")
}

const toBytes = (data: Uint8Array | string | undefined): Uint8Array =>
  typeof data === "string" ? new TextEncoder().encode(data) : data ?? new Uint8Array(0)

const concat = (chunks: Chunk.Chunk<Uint8Array>): Uint8Array => Buffer.concat(Chunk.toArray(chunks))

const output = (result: Deferred.Deferred<MemoryResult, SshError>, pick: (r: MemoryResult) => Uint8Array | string | undefined) =>
  Stream.fromEffect(Deferred.await(result)).pipe(
    Stream.map((r) => toBytes(pick(r))),
    Stream.filter((bytes) => bytes.length > 0)
  )

/** The handler runs in the process's scope: closing the scope early interrupts it. */
const start = (handler: MemoryHandler, request: ExecRequest): Effect.Effect<RemoteProcess, never, Scope.Scope> =>
  Effect.gen(function* () {
    const stdin = yield* Deferred.make<Uint8Array>()
    const result = yield* Deferred.make<MemoryResult, SshError>()
    yield* Effect.forkScoped(
      Deferred.await(stdin).pipe(Effect.flatMap((bytes) => handler(request, bytes)), Effect.intoDeferred(result))
    )
    return {
      stdout: output(result, (r) => r.stdout),
      stderr: output(result, (r) => r.stderr),
      stdin: Sink.collectAll<Uint8Array>().pipe(Sink.mapEffect((chunks) => Deferred.succeed(stdin, concat(chunks))), Sink.as(undefined)),
      exit: Deferred.await(result).pipe(Effect.map((r) => ({ code: r.code }))),
      resize: () => Effect.void
    }
  })

const connect = (options: MemorySshOptions) => (target: SshTarget): Effect.Effect<SshSession, SshError | HostKeyMismatch> => {
  const presented = options.hostKey ?? defaultHostKey
  if (options.failConnect !== undefined) return Effect.fail(options.failConnect)
  if (target.pinnedHostKey !== undefined && !sameHostKey(target.pinnedHostKey, presented)) {
    return Effect.fail(new HostKeyMismatch({
      host: target.host, port: target.port, expected: fingerprint(target.pinnedHostKey), actual: fingerprint(presented)
    }))
  }
  return Effect.succeed({
    hostKey: presented,
    exec: (request) => start(options.handler, request),
    shell: (pty) => start(options.handler, { command: "", pty })
  })
}

const probe = (options: MemorySshOptions) => (target: SshTarget, timeout: Duration.DurationInput) =>
  Effect.scoped(Effect.gen(function* () {
    const session = yield* connect(options)(target)
    const proc = yield* session.exec({ command: "true" })
    yield* Stream.run(Stream.empty, proc.stdin)
    const { code } = yield* proc.exit
    if (code !== 0) {
      return yield* new SshError({
        kind: "channel", host: target.host, port: target.port, message: `\`true\` exited with ${code}`
      })
    }
    return session.hostKey
  })).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new SshError({
        kind: "timeout", host: target.host, port: target.port, message: "SSH was not ready before the probe's deadline"
      })
    })
  )

export const layer = (options: MemorySshOptions): Layer.Layer<SshTransport> =>
  Layer.succeed(SshTransport, SshTransport.of({ connect: connect(options), probe: probe(options) }))
