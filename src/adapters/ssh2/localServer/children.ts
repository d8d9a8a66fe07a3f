/**
 * The commands one local SSH server runs. Each runs in its own process group (spawned
 * `detached`), so a signal reaches everything the command started: pipelines, background jobs.
 */
import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import { constants } from "node:os"

/** How long a hung-up command gets to exit on SIGHUP before its group is killed. */
const HANG_UP_GRACE_MS = 2_000
/** A shutdown waits this long for killed commands to be reaped. */
const REAP_TIMEOUT = "5 seconds"

/** `TERM` or `SIGTERM` to `SIGTERM`; undefined when this platform has no such signal. */
export const signalNamed = (name: string): NodeJS.Signals | undefined => {
  const full = name.startsWith("SIG") ? name : `SIG${name}`
  return full in constants.signals ? (full as NodeJS.Signals) : undefined
}

export const signalGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return
  // The callback edge: ESRCH means the group is already gone, which is what we wanted.
  try {
    process.kill(-child.pid, signal)
  } catch {
    // nothing left to signal
  }
}

const exited = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const done = () => resume(Effect.void)
    child.once("exit", done)
    return Effect.sync(() => child.off("exit", done))
  })

export interface Children {
  /** Track a started command until its stdio closes. */
  readonly add: (child: ChildProcess) => void
  /** SIGHUP, as a closed terminal sends; SIGKILL after a grace for whatever ignored it. */
  readonly hangUp: (child: ChildProcess) => void
  /** SIGKILL every group still running and wait (bounded) until the commands are reaped. */
  readonly killAll: Effect.Effect<void>
}

/** State for one server, created inside its scope: ssh2 reports everything through sync callbacks. */
export const makeChildren = (): Children => {
  const live = new Set<ChildProcess>()
  return {
    add: (child) => {
      if (child.pid === undefined) return // failed to spawn: nothing to signal
      live.add(child)
      child.once("close", () => live.delete(child))
    },
    hangUp: (child) => {
      if (!live.has(child)) return
      signalGroup(child, "SIGHUP")
      // called from ssh2's synchronous close handler, outside any fiber: a plain, unref'd timer
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), HANG_UP_GRACE_MS).unref()
      child.once("close", () => clearTimeout(timer))
    },
    killAll: Effect.suspend(() => {
      const running = [...live]
      for (const child of running) signalGroup(child, "SIGKILL")
      return Effect.forEach(running, exited, { concurrency: "unbounded", discard: true }).pipe(
        Effect.timeoutOption(REAP_TIMEOUT),
        Effect.asVoid
      )
    })
  }
}
