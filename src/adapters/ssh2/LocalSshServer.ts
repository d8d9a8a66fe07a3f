/**
 * A small SSH server inside this process, on ssh2's `Server`. It lets crabbox run end to end
 * on a machine with no sshd and no cloud account, and is the SSH side of the fal emulator.
 *
 * A local sandbox, not isolation: commands run on this machine, as the current user, with
 * this user's files and privileges. Only the authorized keys get in, and it binds 127.0.0.1.
 */
import { Duration, Effect, ExecutionStrategy, Exit, MutableRef, Runtime, Scope } from "effect"
import { createServer, type Server as NetServer, type Socket } from "node:net"
import { Server } from "ssh2"
import type { HostKey } from "../../domain/sshTarget.js"
import { makeChildren } from "./localServer/children.js"
import { serveConnection, type ConnectionContext } from "./localServer/connection.js"
import { loadHostKey, parseAuthorizedKeys } from "./localServer/keys.js"
import { SshServerError } from "./localServer/SshServerError.js"

export { SshServerError } from "./localServer/SshServerError.js"

export interface LocalSshServerOptions {
  /** OpenSSH public key lines (authorized_keys format; options are ignored). */
  readonly authorizedKeys: ReadonlyArray<string>
  /** OpenSSH (or PEM) private key text; a fresh ed25519 key when absent. */
  readonly hostKey?: string
  /** Where commands start. */
  readonly cwd: string
  /** 0 or absent: a free port. */
  readonly port?: number
  /** Hold each TCP connection this long before the SSH handshake ("slow SSH" faults). */
  readonly acceptDelay?: Duration.DurationInput
}

export interface LocalSshServer {
  readonly host: "127.0.0.1"
  readonly port: number
  /** The public half of the host key, as a client pins it. */
  readonly hostKey: HostKey
  /** Stop listening, drop every connection, kill every command. Closing the scope does the same. */
  readonly close: Effect.Effect<void>
  /** How many exec and shell channels have been served. */
  readonly sessions: Effect.Effect<number>
  /** The username of each authenticated connection, in order. */
  readonly logins: Effect.Effect<ReadonlyArray<string>>
}

/** The minimal environment of every command, before the session's `env` requests. */
const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = { PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin" }
  for (const name of ["HOME", "USER", "LANG"]) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

interface Listening {
  readonly net: NetServer
  readonly port: number
  readonly sockets: Set<Socket>
}

/** Our own listener hands each socket to ssh2 (`injectSocket`), which lets it hold one back first. */
const listen = (ssh: Server, port: number, delay: Duration.Duration) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) => Effect.async<Listening, SshServerError>((resume) => {
    const sockets = new Set<Socket>()
    const delayMs = Duration.toMillis(delay)
    const net = createServer((socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
      socket.on("error", () => {}) // a reset while held back; ssh2 adds its own handler later
      if (delayMs <= 0) return ssh.injectSocket(socket)
      // on the Effect Clock, so a test's TestClock drives the injected slowness
      Runtime.runFork(runtime)(Effect.sleep(delay).pipe(
        Effect.zipRight(Effect.sync(() => { if (!socket.destroyed) ssh.injectSocket(socket) }))))
    })
    const failed = (err: Error) =>
      resume(Effect.fail(new SshServerError({ operation: "listen", message: `cannot listen on 127.0.0.1:${port}: ${err.message}` })))
    net.once("error", failed)
    net.listen(port, "127.0.0.1", () => {
      net.off("error", failed)
      // Accept errors (EMFILE) after this point drop that one connection, not the server.
      net.on("error", () => {})
      const address = net.address()
      resume(Effect.succeed({ net, sockets, port: typeof address === "object" && address !== null ? address.port : port }))
    })
  }))

const stopListening = ({ net, sockets }: Listening) =>
  Effect.async<void>((resume) => {
    // The callback runs once every connection is gone (or at once, with an error, if not listening).
    net.close(() => resume(Effect.void))
    for (const socket of sockets) socket.destroy()
  }).pipe(Effect.timeoutOption("5 seconds"), Effect.asVoid)

export const startLocalSshServer = (
  options: LocalSshServerOptions
): Effect.Effect<LocalSshServer, SshServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const hostKey = yield* loadHostKey(options.hostKey)
    const authorized = yield* parseAuthorizedKeys(options.authorizedKeys)
    // Its own scope, so `close` can end the server early; the caller's scope still closes it.
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const sessions = MutableRef.make(0)
    const logins = MutableRef.make<ReadonlyArray<string>>([])

    const listening = yield* Effect.gen(function* () {
      // Released last: by then no connection is left to start another command.
      const children = yield* Effect.acquireRelease(Effect.sync(makeChildren), (c) => c.killAll)
      const context: ConnectionContext = {
        cwd: options.cwd,
        baseEnv: baseEnv(),
        children,
        authorized,
        served: () => MutableRef.increment(sessions),
        loggedIn: (username) => MutableRef.update(logins, (names) => [...names, username])
      }
      const ssh = yield* Effect.try({
        try: () => new Server({ hostKeys: [hostKey.privateKey] }, (connection) => serveConnection(connection, context)),
        catch: () => new SshServerError({ operation: "host-key", message: "ssh2 refused the host key" })
      })
      return yield* Effect.acquireRelease(
        listen(ssh, options.port ?? 0, Duration.decode(options.acceptDelay ?? Duration.zero)),
        stopListening
      )
    }).pipe(
      Scope.extend(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )

    return {
      host: "127.0.0.1",
      port: listening.port,
      hostKey: hostKey.publicKey,
      close: Scope.close(scope, Exit.void),
      sessions: Effect.sync(() => MutableRef.get(sessions)),
      logins: Effect.sync(() => MutableRef.get(logins))
    } satisfies LocalSshServer
  })
