/**
 * A small SSH server inside this process, on ssh2's `Server`. It lets crabbox run end to end
 * on a machine with no sshd and no cloud account, and is the SSH side of the fal emulator.
 *
 * A local sandbox, not isolation: commands run on this machine, as the current user, with
 * this user's files and privileges. Only the authorized keys get in, and it binds 127.0.0.1.
 */
import { Duration, Effect, ExecutionStrategy, Exit, MutableRef, Scope } from "effect"
import { Server } from "ssh2"
import type { HostKey } from "../../domain/sshTarget.js"
import { makeChildren } from "./localServer/children.js"
import { serveConnection, type ConnectionContext } from "./localServer/connection.js"
import { loadHostKey, parseAuthorizedKeys } from "./localServer/keys.js"
import { listenLoopback, stopListening } from "./localServer/listen.js"
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
        listenLoopback(ssh, options.port ?? 0, Effect.succeed(Duration.decode(options.acceptDelay ?? Duration.zero))),
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
