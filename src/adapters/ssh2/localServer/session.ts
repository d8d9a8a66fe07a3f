/**
 * One SSH session channel: `env` and `pty` requests, then one `exec` or `shell`, run as a
 * local `/bin/sh` whose stdio is piped to the channel (Node's `pipe` carries backpressure both
 * ways: a full SSH window pauses the command's output, a slow command stops the client's window).
 *
 * No real PTY is allocated: a `pty` request is accepted (its TERM is passed on) and the shell
 * is `/bin/sh -i` on pipes. Good enough for scripted use and a rough interactive prompt; full
 * screen programs will not work.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { constants } from "node:os"
import type { Writable } from "node:stream"
import type { ServerChannel, Session } from "ssh2"
import { signalGroup, signalNamed, type Children } from "./children.js"

export interface SessionContext {
  /** Where commands start. */
  readonly cwd: string
  /** The environment every command starts from; `env` requests add to it. */
  readonly baseEnv: Readonly<Record<string, string>>
  readonly children: Children
  /** Called for each started command (the connection hangs them up when the client leaves). */
  readonly spawned: (child: ChildProcess) => void
  /** Called for each exec or shell channel served. */
  readonly served: () => void
}

type ExitReport = { readonly code: number } | { readonly signal: string }

/** The signal names RFC 4254 defines for `exit-signal` (ssh2 refuses others). */
const wireSignals = new Set(["ABRT", "ALRM", "FPE", "HUP", "ILL", "INT", "QUIT", "SEGV", "TERM", "USR1", "USR2", "KILL", "PIPE"])

/** A signal with no wire name is reported like a shell would: 128 + its number. */
const exitReport = (code: number | null, signal: NodeJS.Signals | null): ExitReport => {
  if (code !== null) return { code }
  if (signal === null) return { code: 255 }
  const name = signal.replace(/^SIG/, "")
  if (wireSignals.has(name)) return { signal: name }
  const number = (constants.signals as Readonly<Record<string, number | undefined>>)[signal]
  return { code: number === undefined ? 255 : 128 + number }
}

/**
 * Calls `then` once everything written to `stream` so far has gone out. ssh2 never calls back
 * writes on a channel the client closed; that case needs no exit status anyway.
 */
const afterFlush = (stream: Writable, then: () => void) => stream.write(Buffer.alloc(0), () => then())

const ignore = () => {}

const wire = (channel: ServerChannel, child: ChildProcess, ctx: SessionContext) => {
  let clientClosed = false
  let reported = false
  // Errors on these streams end in "close" on the channel or the child, which do the cleanup.
  channel.on("error", ignore)
  channel.stderr.on("error", ignore)
  child.stdin?.on("error", ignore) // EPIPE: the command exited without reading all its input
  child.stdout?.pipe(channel, { end: false })
  child.stderr?.pipe(channel.stderr, { end: false })
  if (child.stdin) {
    const stdin = child.stdin
    channel.pipe(stdin) // ends the command's stdin on the client's EOF
    // Once nobody reads stdin, drop further input so the client is never stuck on a full window.
    stdin.once("close", () => {
      channel.unpipe(stdin)
      channel.resume()
    })
  }
  channel.once("close", () => {
    clientClosed = true
    ctx.children.hangUp(child)
  })
  const report = (exit: ExitReport) => {
    if (reported) return
    reported = true
    if (clientClosed) return
    afterFlush(channel, () => afterFlush(channel.stderr, () => {
      if ("code" in exit) channel.exit(exit.code)
      else channel.exit(exit.signal, false, "")
      channel.end() // EOF, then CHANNEL_CLOSE
    }))
  }
  child.once("error", (err) => {
    channel.stderr.write(`crabbox local ssh: cannot start /bin/sh in ${ctx.cwd}: ${err.message}\n`)
    report({ code: 127 })
  })
  // "close", not "exit": the command's output has all been read by then.
  child.once("close", (code: number | null, signal: NodeJS.Signals | null) => report(exitReport(code, signal)))
}

const start = (channel: ServerChannel | undefined, args: ReadonlyArray<string>, env: Record<string, string>,
  ctx: SessionContext): ChildProcess | undefined => {
  if (channel === undefined) return undefined // the session ended before the request was answered
  ctx.served()
  let child: ChildProcess
  // spawn throws synchronously on arguments it cannot pass (a NUL byte in the command).
  try {
    child = spawn("/bin/sh", args, { cwd: ctx.cwd, env, detached: true, stdio: "pipe" })
  } catch (err) {
    channel.stderr.write(`crabbox local ssh: cannot run the command: ${(err as Error).message}\n`)
    afterFlush(channel.stderr, () => {
      channel.exit(127)
      channel.end()
    })
    return undefined
  }
  ctx.spawned(child)
  wire(channel, child, ctx)
  return child
}

export const serveSession = (session: Session, ctx: SessionContext): void => {
  const env: Record<string, string> = { ...ctx.baseEnv }
  let running: ChildProcess | undefined
  // `accept` and `reject` are undefined when the client asked for no reply (OpenSSH's `env`).
  const reply = (answer: (() => void) | undefined) => answer?.()
  session.on("env", (accept, _reject, info) => {
    env[info.key] = info.val
    reply(accept)
  })
  session.on("pty", (accept, _reject, info) => {
    if (info.term) env["TERM"] = info.term
    reply(accept)
  })
  session.on("signal", (accept, reject, info) => {
    const signal = signalNamed(info.name)
    if (running === undefined || signal === undefined) return reply(reject)
    signalGroup(running, signal)
    reply(accept)
  })
  session.on("exec", (accept, _reject, info) => {
    running = start(accept() as ServerChannel | undefined, ["-c", info.command], env, ctx)
  })
  session.on("shell", (accept) => {
    running = start(accept() as ServerChannel | undefined, ["-i"], env, ctx)
  })
  session.on("sftp", (_accept, reject) => reply(reject))
  session.on("subsystem", (_accept, reject) => reply(reject))
}
