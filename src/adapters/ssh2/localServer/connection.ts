/** One client connection to the local SSH server: public-key auth, then sessions. */
import type { ChildProcess } from "node:child_process"
import type { Connection } from "ssh2"
import { authenticate, type AuthorizedKey } from "./keys.js"
import { serveSession, type SessionContext } from "./session.js"

export interface ConnectionContext extends Omit<SessionContext, "spawned"> {
  readonly authorized: ReadonlyArray<AuthorizedKey>
  /** Called with the username of each authenticated connection (any name is accepted). */
  readonly loggedIn: (username: string) => void
}

export const serveConnection = (connection: Connection, ctx: ConnectionContext): void => {
  const mine = new Set<ChildProcess>()
  const spawned = (child: ChildProcess) => {
    ctx.children.add(child)
    mine.add(child)
    child.once("close", () => mine.delete(child))
  }
  // Resets and protocol errors: the connection then closes, and "close" does the cleanup.
  // Unheard, an "error" event would crash the process.
  connection.on("error", () => {})
  connection.on("authentication", (auth) => {
    const username = authenticate(ctx.authorized, auth)
    if (username !== undefined) ctx.loggedIn(username)
  })
  // Channel types other than "session" (port forwarding, agent) have no listener: ssh2 refuses them.
  connection.on("ready", () =>
    connection.on("session", (accept) => serveSession(accept(), { ...ctx, spawned })))
  // A client that disconnects hangs up what it started, as sshd does.
  connection.on("close", () => {
    for (const child of mine) ctx.children.hangUp(child)
  })
}
