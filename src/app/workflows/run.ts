/**
 * `crabbox run`: acquire (or resolve --id), sync, run the command with streamed output,
 * then release a fresh lease unless kept. Exits with the remote command's code.
 */
import { Effect, Exit, type Layer, Option } from "effect"
import { LeaseCleanupFailed, RemoteCommandExit, RemoteSetupFailed, UsageError, type WorkspaceError } from "../../domain/errors.js"
import { wrapCommand } from "../../domain/commandLine.js"
import { formatDuration } from "../../domain/duration.js"
import { describeError } from "../../domain/errorMessage.js"
import { shellQuote } from "../../domain/shellQuote.js"
import { Stdio } from "../../ports/Stdio.js"
import type { Workspace } from "../../ports/Workspace.js"
import { nowMillis } from "../leases/clockTime.js"
import { openSession, remoteMetaDir, remoteWorkdir } from "../leases/openSession.js"
import type { LeaseTarget, SshLeaseBackend } from "../providers/backend.js"
import { syncWorkspace } from "../sync/syncWorkspace.js"
import { acquireNew, type NewLeaseOptions } from "./acquireNew.js"
import { captureRemote, streamRemoteCommand } from "./remoteExec.js"
import { stopHint } from "./stopHint.js"

export interface RunRequest {
  /** the local tree to sync; built only when a sync happens */
  readonly workspace: Layer.Layer<Workspace, WorkspaceError>
  readonly argv: ReadonlyArray<string>
  readonly shell: boolean
  readonly id: Option.Option<string>
  readonly reclaim: boolean
  readonly newLease: NewLeaseOptions
  readonly keepOnFailure: boolean
  readonly noSync: boolean
  readonly syncOnly: boolean
  readonly forceSyncLarge: boolean
  readonly fullResync: boolean
  readonly excludes: ReadonlyArray<string>
  /** variables to forward, already selected by the allowlist */
  readonly env: Readonly<Record<string, string>>
  readonly timingJson: boolean
  readonly repoName: string
}

interface RunOutcome {
  readonly exitCode: number
  readonly syncMs: number
  readonly commandMs: number
  readonly syncSkipped: boolean
  readonly workdir: string
}

const useLease = (backend: SshLeaseBackend, lease: LeaseTarget, req: RunRequest) =>
  Effect.scoped(Effect.gen(function* () {
    const stdio = yield* Stdio
    const session = yield* openSession(lease)
    const workdir = remoteWorkdir(lease, req.repoName)
    const syncStart = yield* nowMillis
    let syncSkipped = true
    if (req.noSync) {
      const mk = yield* captureRemote(session, `mkdir -p -- ${shellQuote(workdir)}`)
      if (mk.code !== 0) return yield* new RemoteSetupFailed({ message: `mkdir ${workdir} exited ${mk.code}: ${mk.stderr.trim()}` })
    } else {
      const result = yield* syncWorkspace(session, {
        workdir,
        metaDir: remoteMetaDir(lease, req.repoName),
        excludes: req.excludes,
        forceLarge: req.forceSyncLarge,
        fullResync: req.fullResync,
        onProgress: stdio.err
      }).pipe(Effect.provide(req.workspace))
      syncSkipped = result.skipped
    }
    const syncMs = (yield* nowMillis) - syncStart
    if (req.syncOnly) {
      yield* stdio.out(`synced ${workdir}`)
      return { exitCode: 0, syncMs, commandMs: 0, syncSkipped, workdir } satisfies RunOutcome
    }
    const running = yield* backend.touch(lease, "running")
    const wrapped = wrapCommand({ workdir, argv: req.argv, shell: req.shell })
    yield* stdio.err(`running on ${lease.ssh.host} ${req.argv.join(" ")}`)
    const commandStart = yield* nowMillis
    const status = yield* streamRemoteCommand(session, { command: wrapped.command, env: req.env }, true)
    const commandMs = (yield* nowMillis) - commandStart
    yield* backend.touch(running, "ready").pipe(Effect.ignore)
    return { exitCode: status.code, syncMs, commandMs, syncSkipped, workdir } satisfies RunOutcome
  }))

export const runWorkflow = (backend: SshLeaseBackend, req: RunRequest) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    if (req.argv.length === 0 && !req.syncOnly) {
      return yield* new UsageError({ message: "usage: crabbox run [flags] -- <command...>" })
    }
    const start = yield* nowMillis
    const fresh = Option.isNone(req.id)
    const lease = fresh
      ? yield* acquireNew(backend, req.newLease)
      : yield* backend.resolve({ id: req.id.value, repoRoot: req.newLease.repoRoot, reclaim: req.reclaim })
    if (fresh) yield* stdio.err(`leased ${lease.claim.leaseId} slug=${lease.claim.slug} provider=${backend.spec.name}`)

    const releaseQuietly = backend.release(lease).pipe(
      Effect.tap(() => stdio.err(`lease cleanup stopped=true policy=auto lease=${lease.claim.leaseId} slug=${lease.claim.slug}`)),
      Effect.catchAll((e) => stdio.err(`lease cleanup failed for ${lease.claim.leaseId}: ${describeError(e)}; ${stopHint(backend, lease)}`))
    )
    // Ctrl-C or any interruption: a fresh lease that is not kept goes back.
    const outcome = yield* Effect.exit(useLease(backend, lease, req).pipe(
      Effect.onInterrupt(() => fresh && !req.newLease.keep ? releaseQuietly : Effect.void)
    ))
    const failed = Exit.isFailure(outcome) || outcome.value.exitCode !== 0
    const keep = !fresh || req.newLease.keep || (req.keepOnFailure && failed)
    if (!keep) {
      const released = yield* Effect.either(backend.release(lease))
      if (released._tag === "Left") {
        if (!failed) return yield* new LeaseCleanupFailed({ leaseId: lease.claim.leaseId, message: describeError(released.left) })
        yield* stdio.err(`lease cleanup failed for ${lease.claim.leaseId}: ${describeError(released.left)}; ${stopHint(backend, lease)}`)
      } else {
        yield* stdio.err(`lease cleanup stopped=true policy=auto lease=${lease.claim.leaseId} slug=${lease.claim.slug}`)
      }
    } else if (fresh) {
      yield* stdio.err(`lease kept lease=${lease.claim.leaseId} slug=${lease.claim.slug}; ${stopHint(backend, lease)}`)
    }
    if (Exit.isFailure(outcome)) return yield* outcome
    const result = outcome.value
    const totalMs = (yield* nowMillis) - start
    if (req.syncOnly) return
    yield* stdio.err(`command complete in ${formatDuration(result.commandMs)} total=${formatDuration(totalMs)}`)
    yield* stdio.err(`run summary sync=${formatDuration(result.syncMs)} command=${formatDuration(result.commandMs)} total=${formatDuration(totalMs)} sync_skipped=${result.syncSkipped} exit=${result.exitCode}`)
    if (req.timingJson) {
      yield* stdio.err(JSON.stringify({
        provider: backend.spec.name, leaseId: lease.claim.leaseId, slug: lease.claim.slug,
        syncMs: result.syncMs, syncSkipped: result.syncSkipped, commandMs: result.commandMs, totalMs,
        exitCode: result.exitCode, runStatus: result.exitCode === 0 ? "succeeded" : "failed",
        workdir: result.workdir, leaseStopped: !keep
      }))
    }
    if (result.exitCode !== 0) return yield* new RemoteCommandExit({ code: result.exitCode })
  })

