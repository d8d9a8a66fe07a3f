/**
 * The SSH side of the emulator: ONE ssh2 server on 127.0.0.1 for every instance (fal gives
 * an instance no port of its own; crabbox reaches it with CRABBOX_SSH_PORT). A login's public
 * key picks the instance: only the key given at create, of a live instance that is ready
 * now. Its commands run via /bin/sh with cwd and HOME in that instance's own dir, and
 * `/home/ubuntu` in their text means that dir (virtualHome.ts). Any user name is accepted.
 *
 * Built from LocalSshServer's parts (host key, public-key check, sessions, process groups);
 * what differs is that the authorized keys and the working dir are per login, not per server.
 * Like LocalSshServer it is a local sandbox, not isolation: commands run as the current user.
 */
import { Duration, Effect, Option, Runtime, type Scope } from "effect"
import type { ChildProcess } from "node:child_process"
import ssh2 from "ssh2"
import type { Connection, ExecInfo, Session, SetEnvInfo } from "ssh2"
import { makeChildren, type Children } from "../../adapters/ssh2/localServer/children.js"
import { authenticate, loadHostKey, type AuthorizedKey } from "../../adapters/ssh2/localServer/keys.js"
import { listenLoopback, stopListening } from "../../adapters/ssh2/localServer/listen.js"
import { serveSession, type SessionContext } from "../../adapters/ssh2/localServer/session.js"
import { SshServerError } from "../../adapters/ssh2/localServer/SshServerError.js"
import type { HostKey } from "../../domain/sshTarget.js"
import type { LoginAttempt } from "./instanceStore.js"
import { mapVirtualHome } from "./virtualHome.js"

// ssh2 is CommonJS: Node's ESM loader only sees its default export.
const { Server } = ssh2

/** Where a login lands. */
export interface GatewayTarget {
  readonly id: string
  readonly key: AuthorizedKey
  /** the instance's own dir: cwd, HOME, and what `/home/ubuntu` means */
  readonly home: string
}

export interface SshGatewayOptions {
  /** 0: a free port */
  readonly port: number
  /** the instance a login is for, if any may log in now */
  readonly route: (login: LoginAttempt) => Effect.Effect<Option.Option<GatewayTarget>>
  /** read for each new connection (the slow-ssh fault), on the Effect Clock */
  readonly acceptDelay: Effect.Effect<Duration.Duration>
}

export interface SshGateway {
  readonly port: number
  readonly hostKey: HostKey
  /** End the instance's connections and kill its commands (deleted or stopped). */
  readonly revoke: (id: string) => Effect.Effect<void>
}

/** One instance's open connections and running commands. */
interface InstanceSessions {
  readonly connections: Set<Connection>
  readonly children: Children
}

const baseEnv = (home: string, user: string): Record<string, string> => {
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", HOME: home, USER: user, LOGNAME: user
  }
  const lang = process.env["LANG"]
  if (lang !== undefined) env["LANG"] = lang
  return env
}

/**
 * Runs before session.ts's own listeners, which get the same (mutated) info object: that is
 * how the paths are mapped without a second copy of the session handling.
 */
const inVirtualHome = (session: Session, home: string) => {
  session.prependListener("exec", (_accept: unknown, _reject: unknown, info: ExecInfo) => {
    info.command = mapVirtualHome(info.command, home)
  })
  session.prependListener("env", (_accept: unknown, _reject: unknown, info: SetEnvInfo) => {
    info.val = mapVirtualHome(info.val, home)
  })
}


export const startSshGateway = (options: SshGatewayOptions): Effect.Effect<SshGateway, SshServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const hostKey = yield* loadHostKey(undefined)
    const runSync = Runtime.runSync(yield* Effect.runtime<never>())
    // ssh2 reports everything through synchronous callbacks; this map lives as long as the scope.
    const byInstance = new Map<string, InstanceSessions>()
    const sessionsOf = (id: string): InstanceSessions => {
      const existing = byInstance.get(id)
      if (existing !== undefined) return existing
      const created: InstanceSessions = { connections: new Set(), children: makeChildren() }
      byInstance.set(id, created)
      return created
    }
    const revoke = (id: string) =>
      Effect.suspend(() => {
        const sessions = byInstance.get(id)
        if (sessions === undefined) return Effect.void
        byInstance.delete(id)
        for (const connection of sessions.connections) connection.end()
        return sessions.children.killAll
      })
    // Released after the listener: by then no connection is left to start another command.
    yield* Effect.addFinalizer(() => Effect.forEach([...byInstance.keys()], revoke, { discard: true }))

    const serve = (connection: Connection) => {
      // The target of the latest authentication request: ssh2 emits "ready" from inside the
      // accept() that ends a successful one, so it has to be known before that call.
      let asked: { readonly target: GatewayTarget; readonly user: string } | undefined
      let bound: { readonly target: GatewayTarget; readonly sessions: InstanceSessions; readonly user: string } | undefined
      const mine = new Set<ChildProcess>()
      // Resets and protocol errors end in "close", which cleans up; unheard, "error" would crash the process.
      connection.on("error", () => {})
      connection.on("authentication", (auth) => {
        asked = undefined
        if (auth.method !== "publickey") return auth.reject(["publickey"])
        const target = runSync(options.route({ algo: auth.key.algo, data: auth.key.data, username: auth.username }))
        if (Option.isNone(target)) return auth.reject(["publickey"])
        asked = { target: target.value, user: auth.username }
        authenticate([target.value.key], auth)
      })
      connection.on("ready", () => {
        if (asked === undefined) return connection.end()
        const sessions = sessionsOf(asked.target.id)
        sessions.connections.add(connection)
        const login = { ...asked, sessions }
        bound = login
        const context: SessionContext = {
          cwd: login.target.home,
          baseEnv: baseEnv(login.target.home, login.user),
          children: login.sessions.children,
          spawned: (child) => {
            login.sessions.children.add(child)
            mine.add(child)
            child.once("close", () => mine.delete(child))
          },
          served: () => {}
        }
        connection.on("session", (accept, reject) => {
          // revoked while this connection's end was still on its way
          if (byInstance.get(login.target.id) !== login.sessions) return reject()
          const session = accept()
          inVirtualHome(session, login.target.home)
          serveSession(session, context)
        })
      })
      // A client that disconnects hangs up what it started, as sshd does.
      connection.on("close", () => {
        if (bound === undefined) return
        for (const child of mine) bound.sessions.children.hangUp(child)
        bound.sessions.connections.delete(connection)
      })
    }

    const ssh = yield* Effect.try({
      try: () => new Server({ hostKeys: [hostKey.privateKey] }, serve),
      catch: () => new SshServerError({ operation: "host-key", message: "ssh2 refused the host key" })
    })
    const listening = yield* Effect.acquireRelease(listenLoopback(ssh, options.port, options.acceptDelay), stopListening)
    return { port: listening.port, hostKey: hostKey.publicKey, revoke } satisfies SshGateway
  })
