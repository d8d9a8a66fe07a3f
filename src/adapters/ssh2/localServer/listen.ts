/**
 * The loopback listener behind the in-process SSH servers (LocalSshServer, the fal
 * emulator's gateway). Our own listener hands each socket to ssh2 (`injectSocket`), which
 * lets it hold one back first: the delay is read per connection, on the Effect Clock, so a
 * test's TestClock or a runtime fault (`slow-ssh`) drives it.
 */
import { Duration, Effect, Runtime } from "effect"
import { createServer, type Server as NetServer, type Socket } from "node:net"
import type { Server } from "ssh2"
import { SshServerError } from "./SshServerError.js"

export interface Listening {
  readonly net: NetServer
  readonly port: number
  readonly sockets: Set<Socket>
}

export const listenLoopback = (ssh: Server, port: number, acceptDelay: Effect.Effect<Duration.Duration>) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) => Effect.async<Listening, SshServerError>((resume) => {
    const sockets = new Set<Socket>()
    const net = createServer((socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
      socket.on("error", () => {}) // a reset while held back; ssh2 adds its own handler later
      const delay = Runtime.runSync(runtime)(acceptDelay)
      if (Duration.toMillis(delay) <= 0) return ssh.injectSocket(socket)
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

export const stopListening = ({ net, sockets }: Listening) =>
  Effect.async<void>((resume) => {
    // The callback runs once every connection is gone (or at once, with an error, if not listening).
    net.close(() => resume(Effect.void))
    for (const socket of sockets) socket.destroy()
  }).pipe(Effect.timeoutOption("5 seconds"), Effect.asVoid)
