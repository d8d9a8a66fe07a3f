/** SshTransport over ssh2: one connection per session, one channel per process. */
import { Duration, Effect, Layer, Stream } from "effect"
import type { Client } from "ssh2"
import { SshError } from "../../domain/errors.js"
import { exportPrefix } from "../../domain/shellQuote.js"
import type { SshTarget } from "../../domain/sshTarget.js"
import type { ExecRequest, RemoteProcess, SshSession } from "../../ports/SshTransport.js"
import { SshTransport } from "../../ports/SshTransport.js"
import { connectClient } from "./connect.js"
import { openRemoteProcess } from "./remoteProcess.js"

type Pty = NonNullable<ExecRequest["pty"]>

const ptyOptions = (pty: Pty) => ({ term: pty.term, cols: pty.cols, rows: pty.rows })

/** Env goes inline: sshd drops `env` requests not listed in its AcceptEnv. */
const exec = (target: SshTarget, client: Client) => (request: ExecRequest) =>
  openRemoteProcess(target, (callback) => {
    const command = `${exportPrefix(request.env ?? {})}${request.command}`
    if (request.pty === undefined) client.exec(command, callback)
    else client.exec(command, { pty: ptyOptions(request.pty) }, callback)
  })

const shell = (target: SshTarget, client: Client) => (pty: Pty) =>
  openRemoteProcess(target, (callback) => client.shell(ptyOptions(pty), callback))

const connect = (target: SshTarget) =>
  connectClient(target).pipe(
    Effect.map(({ client, hostKey }): SshSession => ({
      hostKey,
      exec: exec(target, client),
      shell: shell(target, client)
    }))
  )

/** Drains both outputs (the channel only reports its exit once stdout is read) and awaits the exit. */
const runToExit = (process: RemoteProcess) =>
  Effect.all([Stream.runDrain(process.stdout), Stream.runDrain(process.stderr), Stream.run(Stream.empty, process.stdin)],
    { concurrency: "unbounded", discard: true }).pipe(Effect.zipRight(process.exit))

const probe = (target: SshTarget, timeout: Duration.DurationInput) =>
  Effect.scoped(Effect.gen(function* () {
    const session = yield* connect(target)
    const status = yield* runToExit(yield* session.exec({ command: "true" }))
    if (status.code !== 0) {
      return yield* new SshError({
        kind: "channel", host: target.host, port: target.port,
        message: `\`true\` exited with ${status.code} on ${target.host}:${target.port}`
      })
    }
    return session.hostKey
  })).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new SshError({
        kind: "timeout", host: target.host, port: target.port,
        message: `SSH on ${target.host}:${target.port} was not ready within ${Duration.format(Duration.decode(timeout))}`
      })
    })
  )

export const layer: Layer.Layer<SshTransport> = Layer.succeed(SshTransport, SshTransport.of({ connect, probe }))
