/**
 * A `freestyle` run on an existing lease: the claim it runs under (local, or a VM adopted with
 * --reclaim), the workspace sync, and the command through exec-await with its buffered output.
 */
import { Duration, Effect, Either, Option, Stream } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { isUsable } from "../../../domain/claim.js"
import { type CrabboxError, LeaseStateConflict, ProviderError, RemoteSetupFailed, SyncError, UsageError } from "../../../domain/errors.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import { redact } from "../../../domain/redact.js"
import { shellQuote } from "../../../domain/shellQuote.js"
import type { FreestyleApiService } from "../../../ports/FreestyleApi.js"
import { FreestyleApiError } from "../../../ports/FreestyleApi.js"
import { nowIso, nowMillis } from "../../leases/clockTime.js"
import { runDetached } from "../../leases/detached.js"
import { checkRepoBinding } from "../../leases/findClaim.js"
import type { DelegatedRunRequest, DelegatedRunResult, ResolveRequest } from "../backend.js"
import { forwardedValueSpellings, runCommand } from "./command.js"
import { type FreestyleContext, PROVIDER } from "./context.js"
import { fromApiError } from "./errors.js"
import { helper, syncArchive } from "./sync.js"
import { findVm } from "./unclaimed.js"

/** what `run` exits with when the command outlived its limit (the lease TTL), as coreutils `timeout` does */
const TIMED_OUT_EXIT = 124

/** The `run` of a freestyle backend on an existing lease (`--id`). */
export const freestyleRunExisting = (ctx: FreestyleContext) => {
  const { settings, claims, stdio, api, adoptHint, localClaim, freeSlug, newClaim, toLeaseId } = ctx

  /** A usable claim for `run`: the local one (rebound to this repo if allowed), or an adopted VM with --reclaim. */
  const claimForRun = (a: FreestyleApiService, req: ResolveRequest) =>
    Effect.gen(function* () {
      const found = yield* localClaim(req.id)
      if (Option.isSome(found)) {
        const claim = found.value
        yield* checkRepoBinding(claim, req.repoRoot, req.reclaim)
        if (!isUsable(claim.state)) {
          return yield* new LeaseStateConflict({ leaseId: claim.leaseId, state: claim.state, message: `finish it with crabbox stop --provider ${PROVIDER} ${claim.slug}` })
        }
        const now = yield* nowIso
        const next: Claim = { ...claim, repoRoot: req.repoRoot, lastUsedAt: now, ...(claim.repoRoot === req.repoRoot ? {} : { claimedAt: now }) }
        yield* claims.replace(claim, next)
        return next
      }
      const vm = yield* findVm(a, req.id)
      const leaseId = yield* toLeaseId(vm.id)
      if (!req.reclaim) {
        return yield* new LeaseStateConflict({ leaseId, state: "unclaimed", message: `has no local claim; adopt it with ${adoptHint(leaseId)}` })
      }
      const now = yield* nowIso
      const claim = newClaim({ leaseId, slug: yield* freeSlug(leaseId), vm, repoRoot: req.repoRoot, createdAt: now, ttl: settings.ttl, idleTimeout: settings.idleTimeout, keep: true })
      yield* claims.create(claim)
      yield* stdio.err(`adopted vm=${vm.id} as lease=${leaseId} slug=${claim.slug}`)
      return claim
    })

  /** state in the claim while a command runs; put back to ready however the run ends */
  const mark = (claim: Claim, state: "ready" | "running") =>
    Effect.gen(function* () {
      const next: Claim = { ...claim, state, lastUsedAt: yield* nowIso }
      yield* claims.replace(claim, next)
      return next
    })

  const writeOut = (bytes: Uint8Array, sink: typeof stdio.stdout) =>
    bytes.byteLength === 0 ? Effect.void : Stream.run(Stream.make(bytes), sink)

  const execUser = (a: FreestyleApiService, claim: Claim, req: DelegatedRunRequest) =>
    Effect.gen(function* () {
      const timeoutMs = claim.ttlSeconds * 1000
      yield* stdio.err(`running on freestyle vm=${claim.cloudId} ${req.argv.join(" ")}`)
      const outcome = yield* Effect.either(a.exec(claim.cloudId!, {
        command: runCommand({ workspace: settings.workspace, argv: req.argv, shell: req.shell, env: req.env }),
        timeoutMs: Option.some(timeoutMs)
      }))
      if (Either.isLeft(outcome)) {
        // The forwarded values are in the command; an error body that echoes it must not show them.
        const secrets = forwardedValueSpellings(req.env)
        const raw = outcome.left
        const e = new FreestyleApiError({
          operation: raw.operation, kind: raw.kind, message: redact(raw.message, secrets),
          ...(raw.status === undefined ? {} : { status: raw.status }),
          ...(raw.code === undefined ? {} : { code: redact(raw.code, secrets) })
        })
        if (e.kind === "timeout") {
          yield* stdio.err(`freestyle exec timed out after ${Duration.format(Duration.millis(timeoutMs))} (the lease ttl); ${e.message}`)
          return TIMED_OUT_EXIT
        }
        const mapped = fromApiError(e)
        return yield* (mapped._tag === "ProviderError" ? new ProviderError({ provider: PROVIDER, message: `freestyle run failed: ${e.message}` }) : mapped)
      }
      // buffered by the API: the output arrives when the command has finished
      yield* writeOut(outcome.right.stdout, stdio.stdout)
      yield* writeOut(outcome.right.stderr, stdio.stderr)
      return outcome.right.exitCode
    })

  const runExisting = (req: DelegatedRunRequest, resolve: ResolveRequest): Effect.Effect<DelegatedRunResult, CrabboxError> =>
    Effect.gen(function* () {
      if (req.argv.length === 0 && !req.sync.only) return yield* new UsageError({ message: "usage: crabbox run [flags] -- <command...>" })
      const a = yield* api
      const claim = yield* claimForRun(a, resolve)
      const remote = { api: a, vmId: claim.cloudId! }
      const syncStart = yield* nowMillis
      if (req.sync.skip) {
        yield* helper(remote, "create workdir", `mkdir -p -- ${shellQuote(settings.workspace)}`).pipe(
          Effect.mapError((e) => e._tag === "SyncError" ? new RemoteSetupFailed({ message: e.message }) : e))
      } else {
        if (req.sync.archive === undefined) return yield* new SyncError({ message: "no archive was given to sync" })
        yield* syncArchive(remote, { workspace: settings.workspace, archive: req.sync.archive, onProgress: stdio.err })
      }
      const syncMs = (yield* nowMillis) - syncStart
      const base = { released: false, workdir: settings.workspace, syncMs }
      if (req.sync.only) return { ...base, lease: leaseViewOf(claim), exitCode: 0, commandMs: 0 }
      const running = yield* mark(claim, "running")
      const start = yield* nowMillis
      const exitCode = yield* execUser(a, running, req).pipe(
        Effect.onExit(() => runDetached(mark(running, "ready")).pipe(Effect.ignore)))
      const commandMs = (yield* nowMillis) - start
      return { ...base, lease: leaseViewOf(running, { status: "ready" }), exitCode, commandMs }
    })

  return runExisting
}
