/**
 * `crabbox run` for delegated providers (the provider runs the command through its own
 * API; no SSH). The core refuses what the provider cannot honour, builds the sync archive
 * before leasing, owns the fresh lease's keep/stop decision, and renders the summary and
 * timing exactly as the SSH run does. Exits with the remote command's code.
 */
import { checkRunRequest } from "./runRequestRules.js"
import { Effect, Layer, Option } from "effect"
import { describeError } from "../../domain/errorMessage.js"
import { formatDuration } from "../../domain/duration.js"
import {
  type CrabboxError, LeaseCleanupFailed, RemoteCommandExit, UnsupportedFeature
} from "../../domain/errors.js"
import { Stdio } from "../../ports/Stdio.js"
import { nowMillis } from "../leases/clockTime.js"
import type { DelegatedRunBackend, SyncArchive } from "../providers/backend.js"
import { chooseSlug } from "./acquireNew.js"
import type { RunRequest } from "./run.js"
import { buildSyncArchive, DEFAULT_ARCHIVE_LIMIT_BYTES } from "./delegatedArchive.js"
import { withFreshLease } from "./delegatedLease.js"

/** The same request as an SSH-lease run (`repoName` aside), plus what only delegated runs check. */
export interface DelegatedRunInput extends Omit<RunRequest, "repoName"> {
  /** `--idle-timeout` was given (refused where nothing enforces it) */
  readonly idleTimeoutFlag?: boolean
}

const unsupported = (backend: DelegatedRunBackend, flag: string, why: string) =>
  new UnsupportedFeature({ provider: backend.spec.name, feature: flag, message: `${flag} is not supported for provider=${backend.spec.name}: ${why}` })

/** Every option a delegated run cannot honour is refused by name (exit 2) before anything is leased. */
export const refuseDelegatedOptions = (
  backend: DelegatedRunBackend,
  used: {
    readonly fullResync?: boolean
    readonly serverType?: Option.Option<string>
    readonly noSync?: boolean
    readonly syncOnly?: boolean
    readonly forceSyncLarge?: boolean
    /** `--idle-timeout` was given on the command line */
    readonly idleTimeoutFlag?: boolean
  }
): Effect.Effect<void, UnsupportedFeature> => {
  if (used.fullResync) return Effect.fail(unsupported(backend, "--full-resync", "archive sync uploads the whole tree every time"))
  if (used.serverType !== undefined && Option.isSome(used.serverType)) {
    return Effect.fail(unsupported(backend, "--type", "a delegated provider sizes machines with its own flags (see crabbox run --help)"))
  }
  if (used.idleTimeoutFlag && !backend.cleanup) {
    return Effect.fail(unsupported(backend, "--idle-timeout", `nothing ends idle leases of this provider (it has no cleanup); end them with crabbox stop --provider ${backend.spec.name}`))
  }
  if (!backend.spec.features.includes("archive-sync")) {
    for (const [flag, on] of [["--no-sync", used.noSync], ["--sync-only", used.syncOnly], ["--force-sync-large", used.forceSyncLarge]] as const) {
      if (on) return Effect.fail(unsupported(backend, flag, "it does not sync the working tree"))
    }
  }
  return Effect.void
}

export const delegatedRunWorkflow = (backend: DelegatedRunBackend, req: DelegatedRunInput) =>
  Effect.scoped(Effect.gen(function* () {
    const stdio = yield* Stdio
    yield* checkRunRequest(req)
    yield* refuseDelegatedOptions(backend, { ...req, serverType: req.newLease.serverType })
    const syncs = backend.spec.features.includes("archive-sync") && !req.noSync
    const start = yield* nowMillis
    // Built before leasing: outside git, or over a limit, nothing is leased for nothing.
    const archive: SyncArchive | undefined = syncs
      ? yield* buildSyncArchive({
        excludes: req.excludes,
        forceLarge: req.forceSyncLarge,
        limitBytes: backend.archiveLimitBytes ?? DEFAULT_ARCHIVE_LIMIT_BYTES,
        onProgress: stdio.err
      }).pipe(Effect.provide(yield* Layer.build(req.workspace)))
      : undefined
    const request = (id: string) => backend.run({
      lease: { _tag: "Existing", resolve: { id, repoRoot: req.newLease.repoRoot, reclaim: req.reclaim } },
      argv: req.argv,
      shell: req.shell,
      env: req.env,
      sync: { skip: !syncs, only: req.syncOnly, forceLarge: req.forceSyncLarge, ...(archive === undefined ? {} : { archive }) },
      keepOnFailure: req.keepOnFailure
    })

    const fresh = Effect.gen(function* () {
      const { leaseId, slug } = yield* chooseSlug(req.newLease)
      return yield* withFreshLease(
        backend,
        { ...req.newLease, leaseId, slug, slugRequested: Option.isSome(req.newLease.slug) },
        { keep: req.newLease.keep, keepOnFailure: req.keepOnFailure },
        (lease) => request(lease.leaseId)
      )
    })
    const { releaseError, result } = Option.isSome(req.id)
      ? { result: yield* request(req.id.value), releaseError: Option.none<CrabboxError>() }
      : yield* fresh
    if (Option.isSome(releaseError) && result.exitCode === 0) {
      const e = releaseError.value
      return yield* (e._tag === "LeaseCleanupFailed" ? e : new LeaseCleanupFailed({ leaseId: result.lease.leaseId, message: describeError(e) }))
    }
    const totalMs = (yield* nowMillis) - start
    if (req.syncOnly) return yield* stdio.out(`synced ${result.workdir ?? "-"}`)
    yield* stdio.err(`command complete in ${formatDuration(result.commandMs)} total=${formatDuration(totalMs)}`)
    yield* stdio.err(`run summary provider=${backend.spec.name} sync=${formatDuration(result.syncMs)} command=${formatDuration(result.commandMs)} total=${formatDuration(totalMs)} sync_skipped=${!syncs} exit=${result.exitCode}`)
    if (req.timingJson) {
      yield* stdio.err(JSON.stringify({
        provider: backend.spec.name, leaseId: result.lease.leaseId, slug: result.lease.slug, syncMs: result.syncMs, syncSkipped: !syncs,
        commandMs: result.commandMs, totalMs, exitCode: result.exitCode,
        runStatus: result.exitCode === 0 ? "succeeded" : "failed", workdir: result.workdir ?? null,
        leaseStopped: result.released
      }))
    }
    if (result.exitCode !== 0) return yield* new RemoteCommandExit({ code: result.exitCode })
  }))
