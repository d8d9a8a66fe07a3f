/**
 * One ssh2 session channel (exec or shell) as a RemoteProcess: output as backpressured
 * Streams, stdin as a Sink, the exit status from the channel's "close" event.
 */
import { NodeStream } from "@effect/platform-node"
import type { Scope } from "effect"
import { Chunk, Deferred, Effect, Exit, Sink } from "effect"
import { constants } from "node:os"
import type { ClientCallback, ClientChannel } from "ssh2"
import { SshError } from "../../domain/errors.js"
import type { SshTarget } from "../../domain/sshTarget.js"
import type { ExitStatus, RemoteProcess } from "../../ports/SshTransport.js"
import { toSshError } from "./connect.js"

/** Starts the channel: `client.exec(...)` or `client.shell(...)` with the callback appended. */
export type StartChannel = (callback: ClientCallback) => void

/** Like a local shell reports it: 128 + the signal's number, or 255 when the name is unknown here. */
const signalExitCode = (signal: string): number => {
  const number = (constants.signals as Readonly<Record<string, number | undefined>>)[signal]
  return number === undefined ? 255 : 128 + number
}

/**
 * ssh2 emits "close" with the same arguments as "exit": `(code)`, `(null, "SIGTERM", ...)`,
 * or nothing when the server sent no exit status (connection lost, channel torn down).
 */
const exitFrom = (target: SshTarget, code: unknown, signal: unknown): Exit.Exit<ExitStatus, SshError> => {
  if (typeof code === "number") return Exit.succeed({ code })
  if (typeof signal === "string") return Exit.succeed({ code: signalExitCode(signal), signal })
  return Exit.fail(new SshError({
    kind: "closed", host: target.host, port: target.port,
    message: `the channel to ${target.host}:${target.port} closed without an exit status`
  }))
}

interface Watched {
  readonly channel: ClientChannel
  /** Completes on "close": the process exited and stdout ended (or the channel died). */
  readonly status: Deferred.Deferred<ExitStatus, SshError>
  /** Completes as soon as the process is gone ("exit" or "close"): nobody reads stdin any more. */
  readonly gone: Deferred.Deferred<void>
}

/**
 * Listeners go on inside ssh2's callback, before anything else runs: the exit status may
 * arrive in the same TCP read as the exec reply. The "error" listeners stay for the
 * channel's life, since an unheard "error" event would crash the process.
 */
const watch = (target: SshTarget, channel: ClientChannel, status: Deferred.Deferred<ExitStatus, SshError>,
  gone: Deferred.Deferred<void>): Watched => {
  const onError = (err: Error) => Deferred.unsafeDone(status, Exit.fail(toSshError(target, err, "channel")))
  channel.on("error", onError)
  channel.stderr.on("error", onError)
  channel.once("exit", () => Deferred.unsafeDone(gone, Exit.void))
  channel.once("close", (code: unknown, signal: unknown) => {
    Deferred.unsafeDone(gone, Exit.void)
    Deferred.unsafeDone(status, exitFrom(target, code, signal))
  })
  return { channel, status, gone }
}

const startChannel = (target: SshTarget, start: StartChannel) =>
  Effect.zip(Deferred.make<ExitStatus, SshError>(), Deferred.make<void>()).pipe(
    Effect.flatMap(([status, gone]) =>
      Effect.async<Watched, SshError>((resume) => {
        const onChannel: ClientCallback = (err, channel) =>
          resume(err ? Effect.fail(toSshError(target, err, "channel")) : Effect.succeed(watch(target, channel, status, gone)))
        // ssh2 throws "Not connected" synchronously once the connection is gone.
        try {
          start(onChannel)
        } catch (err) {
          resume(Effect.fail(toSshError(target, err as Error, "closed")))
        }
      })
    )
  )

/**
 * Closing the channel hangs up a PTY; without one sshd just drops the pipes, so a process still
 * running also gets a "signal" request for SIGTERM. That is best effort: ssh2 only sends it
 * while our stdin is open, and OpenSSH refuses it for sessions without privilege separation
 * (root logins), so a silent process without a PTY can outlive its channel.
 */
const closeChannel = ({ channel, gone }: Watched) =>
  Deferred.isDone(gone).pipe(Effect.flatMap((done) =>
    Effect.sync(() => {
      if (!done) channel.signal("TERM")
      channel.close()
    })
  ))

/**
 * Below this, the parts of one incoming chunk are joined before writing: ssh2 turns every
 * write into its own SSH packet (a header, a MAC, a socket write), so many small writes
 * cost far more than one copy.
 */
const coalesceBelow = 32 * 1024

/** Each part of the chunk, with the small ones that follow each other joined into one. */
const coalesce = (chunk: Chunk.Chunk<Uint8Array>): ReadonlyArray<Uint8Array> => {
  const parts = Chunk.toReadonlyArray(chunk)
  if (parts.length < 2) return parts
  const out: Array<Uint8Array> = []
  let run: Array<Uint8Array> = []
  let runBytes = 0
  const flush = () => {
    if (run.length > 0) out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes))
    run = []
    runBytes = 0
  }
  for (const part of parts) {
    if (part.byteLength >= coalesceBelow) {
      flush()
      out.push(part)
    } else {
      run.push(part)
      runBytes += part.byteLength
      if (runBytes >= coalesceBelow) flush()
    }
  }
  flush()
  return out
}

/**
 * Hands the bytes to ssh2 and, only when its buffer (the SSH window) is full, waits for
 * "drain" or for the process to go away, whichever comes first.
 */
const writeBytes = ({ channel, gone }: Watched, bytes: Uint8Array): Effect.Effect<void> =>
  Effect.suspend(() =>
    channel.write(bytes) ? Effect.void : Effect.raceFirst(
      Effect.async<void>((resume) => {
        const onDrain = () => resume(Effect.void)
        channel.once("drain", onDrain)
        return Effect.sync(() => channel.off("drain", onDrain))
      }),
      Deferred.await(gone)
    )
  )

/** End stdin (EOF to the remote) once buffered writes are flushed, or give up when the process is gone. */
const endStdin = ({ channel, gone }: Watched) =>
  Effect.raceFirst(
    Effect.async<void>((resume) => {
      if (!channel.writable) {
        resume(Effect.void)
        return
      }
      const onFinish = () => resume(Effect.void)
      channel.once("finish", onFinish)
      channel.end()
      return Effect.sync(() => channel.off("finish", onFinish))
    }),
    Deferred.await(gone)
  )

/**
 * Writes each chunk with backpressure and ends the remote stdin when its input ends. Once the
 * process is gone the sink stops pulling: the rest of the input is dropped, as a pipe would.
 *
 * If the caller never runs this sink, the remote stdin stays open: commands that do not read
 * stdin finish anyway, while `cat` and the like wait for EOF. Feed `Stream.empty` to close it.
 */
const stdinSink = (watched: Watched): Sink.Sink<void, Uint8Array, never, SshError> =>
  Sink.forEachChunkWhile((chunk: Chunk.Chunk<Uint8Array>) =>
    Effect.forEach(coalesce(chunk), (bytes) => writeBytes(watched, bytes), { discard: true }).pipe(
      Effect.raceFirst(Deferred.await(watched.gone)),
      Effect.zipRight(Deferred.isDone(watched.gone)),
      Effect.map((done) => !done && watched.channel.writable)
    )
  ).pipe(Sink.zipRight(Sink.fromEffect(endStdin(watched))), Sink.ignoreLeftover)

/**
 * Open a channel for the life of the scope. `closeOnDone: false`: the streams must not
 * destroy the channel when they end, since ssh2's `destroy()` would close it before the
 * exit status arrives. The scope owns the channel.
 */
export const openRemoteProcess = (target: SshTarget, start: StartChannel): Effect.Effect<RemoteProcess, SshError, Scope.Scope> =>
  Effect.acquireRelease(startChannel(target, start), closeChannel).pipe(
    Effect.map((watched): RemoteProcess => {
      const onError = (err: unknown) => toSshError(target, err as Error, "channel")
      return {
        stdout: NodeStream.fromReadable<SshError, Uint8Array>(() => watched.channel, onError, { closeOnDone: false }),
        stderr: NodeStream.fromReadable<SshError, Uint8Array>(() => watched.channel.stderr, onError, { closeOnDone: false }),
        stdin: stdinSink(watched),
        exit: Deferred.await(watched.status),
        resize: (cols, rows) => Effect.sync(() => watched.channel.setWindow(rows, cols, 0, 0))
      }
    })
  )
