/**
 * `crabbox run`: acquire (or resolve --id), sync, run the command with streamed output,
 * then release a fresh lease unless kept. Exits with the remote command's code.
 *
 * However the use of the lease ends (success, failure, Ctrl-C), the release decision runs
 * once, uninterruptibly, with the same keep rules.
 */
import { checkRunRequest } from "./runRequestRules.js"
import { Context, Effect, Exit, Layer, Option, Ref } from "effect"
import { wrapCommand } from "../../domain/commandLine.js"
import { formatDuration } from "../../domain/duration.js"
import { describeError } from "../../domain/errorMessage.js"
import type { CrabboxError } from "../../domain/errors.js"
import { LeaseCleanupFailed, RemoteCommandExit, RemoteSetupFailed, type WorkspaceError } from "../../domain/errors.js"
import { shellQuote } from "../../domain/shellQuote.js"
import { Stdio } from "../../ports/Stdio.js"
import type { Workspace } from "../../ports/Workspace.js"
import { nowMillis } from "../leases/clockTime.js"
import { openSession, remoteMetaDir, remoteWorkdir } from "../leases/openSession.js"
import { runDetached } from "../leases/detached.js"
import { captureRemote, streamRemoteCommand } from "../leases/remoteCommand.js"
import type { LeaseTarget, SshLeaseBackend } from "../providers/backend.js"
import { syncWorkspace } from "../sync/syncWorkspace.js"
import { acquireNew, type NewLeaseOptions } from "./acquireNew.js"
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
  readonly leaseId: string
  readonly slug: string
  readonly exitCode: number
  readonly syncMs: number
  readonly commandMs: number
  readonly syncSkipped: boolean
  readonly workdir: string
}

const syncStep = (
  session: Effect.Effect.Success<ReturnType<typeof openSession>>,
  lease: LeaseTarget,
  req: RunRequest,
  workspace: Context.Context<Workspace>
) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const workdir = remoteWorkdir(lease, req.repoName)
    if (req.noSync) {
      const mk = yield* captureRemote(session, `mkdir -p -- ${shellQuote(workdir)}`)
      if (mk.status.code !== 0) return yield* new RemoteSetupFailed({ message: `mkdir ${workdir} exited ${mk.status.code}: ${mk.stderr.trim()}` })
      return { workdir, skipped: true }
    }
    const result = yield* syncWorkspace(session, {
      workdir,
      metaDir: remoteMetaDir(lease, req.repoName),
      excludes: req.excludes,
      forceLarge: req.forceSyncLarge,
      fullResync: req.fullResync,
      onProgress: stdio.err
    }).pipe(Effect.provide(workspace))
    return { workdir, skipped: result.skipped }
  })

const useLease = (backend: SshLeaseBackend, lease: LeaseTarget, req: RunRequest, workspace: Context.Context<Workspace>) =>
  Effect.scoped(Effect.gen(function* () {
    const stdio = yield* Stdio
    const ids = { leaseId: lease.claim.leaseId, slug: lease.claim.slug }
    const session = yield* openSession(lease)
    const syncStart = yield* nowMillis
    const { workdir, skipped } = yield* syncStep(session, lease, req, workspace)
    const syncMs = (yield* nowMillis) - syncStart
    if (req.syncOnly) {
      yield* stdio.out(`synced ${workdir}`)
      return { ...ids, exitCode: 0, syncMs, commandMs: 0, syncSkipped: skipped, workdir } satisfies RunOutcome
    }
    const wrapped = wrapCommand({ workdir, argv: req.argv, shell: req.shell })
    // `running` only while the command runs: back to `ready` however it ends, so cleanup's
    // grace for busy leases never sticks to an idle one.
    const running = yield* backend.touch(lease, "running")
    const status = yield* Effect.gen(function* () {
      yield* stdio.err(`running on ${lease.ssh.host} ${req.argv.join(" ")}`)
      const start = yield* nowMillis
      const exit = yield* streamRemoteCommand(session, { command: wrapped.command, env: req.env })
      return { exit, commandMs: (yield* nowMillis) - start }
    }).pipe(Effect.onExit(() => runDetached(backend.touch(running, "ready")).pipe(Effect.ignore)))
    return { ...ids, exitCode: status.exit.code, syncMs, commandMs: status.commandMs, syncSkipped: skipped, workdir } satisfies RunOutcome
  }))

export const runWorkflow = (backend: SshLeaseBackend, req: RunRequest) =>
  Effect.scoped(Effect.gen(function* () {
    const stdio = yield* Stdio
    yield* checkRunRequest(req)
    // Open the workspace before acquiring: a directory that cannot be synced (not a git
    // repo) fails here, not after a machine was leased for nothing.
    // (with --no-sync nothing reads it, so an empty context stands in)
    const workspace = req.noSync ? Context.empty() as Context.Context<Workspace> : yield* Layer.build(req.workspace)
    const start = yield* nowMillis
    const fresh = Option.isNone(req.id)
    const releaseFailure = yield* Ref.make(Option.none<CrabboxError>())

    const obtain = fresh
      ? acquireNew(backend, req.newLease).pipe(
        Effect.tap((lease) => stdio.err(`leased ${lease.claim.leaseId} slug=${lease.claim.slug} provider=${backend.spec.name}`)))
      : backend.resolve({ id: req.id.value, repoRoot: req.newLease.repoRoot, reclaim: req.reclaim })

    const finish = (lease: LeaseTarget, exit: Exit.Exit<RunOutcome, unknown>) => {
      const failed = Exit.isFailure(exit) || exit.value.exitCode !== 0
      const keep = !fresh || req.newLease.keep || (req.keepOnFailure && failed)
      if (keep) {
        return fresh ? stdio.err(`lease kept lease=${lease.claim.leaseId} slug=${lease.claim.slug}; ${stopHint(backend, lease)}`) : Effect.void
      }
      return backend.release(lease).pipe(
        Effect.zipRight(stdio.err(`lease cleanup stopped=true policy=auto lease=${lease.claim.leaseId} slug=${lease.claim.slug}`)),
        Effect.catchAll((e) => Ref.set(releaseFailure, Option.some<CrabboxError>(e)).pipe(
          Effect.zipRight(stdio.err(`crabbox: ${describeError(e)}; the claim is kept: ${stopHint(backend, lease)}`))))
      )
    }

    // Like acquireUseRelease, but the acquire stays interruptible (it waits on the network;
    // a backend rolls back its own half-made acquire) and the release runs detached.
    const result = yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const lease = yield* restore(obtain)
        const exit = yield* Effect.exit(restore(useLease(backend, lease, req, workspace)))
        yield* runDetached(finish(lease, exit))
        return yield* exit
      })
    )
    const released = yield* Ref.get(releaseFailure)
    if (Option.isSome(released) && result.exitCode === 0) {
      const e = released.value
      return yield* (e._tag === "LeaseCleanupFailed" ? e : new LeaseCleanupFailed({ leaseId: result.leaseId, message: describeError(e) }))
    }
    const totalMs = (yield* nowMillis) - start
    if (req.syncOnly) return
    yield* stdio.err(`command complete in ${formatDuration(result.commandMs)} total=${formatDuration(totalMs)}`)
    yield* stdio.err(`run summary sync=${formatDuration(result.syncMs)} command=${formatDuration(result.commandMs)} total=${formatDuration(totalMs)} sync_skipped=${result.syncSkipped} exit=${result.exitCode}`)
    if (req.timingJson) {
      yield* stdio.err(JSON.stringify({
        provider: backend.spec.name, leaseId: result.leaseId, slug: result.slug, syncMs: result.syncMs, syncSkipped: result.syncSkipped,
        commandMs: result.commandMs, totalMs, exitCode: result.exitCode,
        runStatus: result.exitCode === 0 ? "succeeded" : "failed", workdir: result.workdir,
        leaseStopped: fresh && Option.isNone(released) && !req.newLease.keep && !(req.keepOnFailure && result.exitCode !== 0)
      }))
    }
    if (result.exitCode !== 0) return yield* new RemoteCommandExit({ code: result.exitCode })
  }))
