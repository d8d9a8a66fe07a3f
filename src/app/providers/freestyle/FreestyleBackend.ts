/**
 * The `freestyle` provider's backend: VMs created through Freestyle's v1 API, leased as
 * `fsb_<vm id>`, claimed in the same ClaimStore as every other lease. Commands run through
 * exec-await (no SSH); the workspace arrives as an archive (sync.ts).
 */
import { Duration, Effect, Either, Exit, Option, Stream } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { CLAIM_VERSION, isUsable } from "../../../domain/claim.js"
import {
  ClaimChanged, type CrabboxError, LeaseNotFound, LeaseStateConflict, ProviderError, RemoteSetupFailed, SyncError, UsageError
} from "../../../domain/errors.js"
import { isLeaseId, type LeaseId } from "../../../domain/ids.js"
import { idleForSeconds } from "../../../domain/leaseTiming.js"
import type { LeaseView, StatusView } from "../../../domain/leaseView.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import { shellQuote } from "../../../domain/shellQuote.js"
import { allocateSlug, slugFromLeaseId } from "../../../domain/slug.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { FreestyleApiError, FreestyleApiService, FreestyleVm } from "../../../ports/FreestyleApi.js"
import { FreestyleApis } from "../../../ports/FreestyleApi.js"
import { Stdio } from "../../../ports/Stdio.js"
import { nowIso, nowMillis } from "../../leases/clockTime.js"
import { runDetached } from "../../leases/detached.js"
import { checkRepoBinding, matchClaims } from "../../leases/findClaim.js"
import { runOnFreshLease } from "../../workflows/delegatedLease.js"
import type { AcquireRequest, DelegatedRunBackend, DelegatedRunRequest, DelegatedRunResult, ResolveRequest } from "../backend.js"
import { runCommand } from "./command.js"
import { freestyleDoctor } from "./doctor.js"
import { fromApiError, missingKey } from "./errors.js"
import { isCrabboxVmName, leaseIdOf, newVmName } from "./names.js"
import type { FreestyleSettings } from "./settings.js"
import { DEFAULT_API_URL } from "./settings.js"
import { helper, MAX_ARCHIVE_BYTES, syncArchive } from "./sync.js"
import { freestyleSpec } from "./spec.js"
import { findVm, stateOf, unclaimedView } from "./unclaimed.js"

export interface FreestyleBackendSettings extends FreestyleSettings {
  /** for leases adopted with --reclaim, which were not created with a --ttl */
  readonly ttl: Duration.Duration
  readonly idleTimeout: Duration.Duration
}

const PROVIDER = freestyleSpec.name
const CLEANUP_BUDGET = Duration.seconds(30)
/** what `run` exits with when the command outlived its limit (the lease TTL), as coreutils `timeout` does */
const TIMED_OUT_EXIT = 124

export const makeFreestyleBackend = (settings: FreestyleBackendSettings) =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const stdio = yield* Stdio
    const apis = yield* FreestyleApis
    // Connected up front: a bad API URL is a usage error before anything else happens.
    const connected = yield* Option.match(settings.key, {
      onNone: () => Effect.succeed(Option.none<FreestyleApiService>()),
      onSome: (key) => Effect.map(apis.connect({ apiUrl: settings.apiUrl, apiUrlSource: settings.apiUrlSource, key }), Option.some)
    })
    const api: Effect.Effect<FreestyleApiService, CrabboxError> = Option.match(connected, {
      onNone: () => Effect.fail(missingKey()),
      onSome: Effect.succeed
    })
    const scope = `endpoint:${Option.match(connected, { onNone: () => settings.apiUrl, onSome: (a) => a.endpoint })}`
    const call = <A>(effect: Effect.Effect<A, FreestyleApiError>) => Effect.mapError(effect, fromApiError)

    const myClaims = Effect.map(claims.list, (all) => all.filter((c) => c.provider === PROVIDER && c.providerScope === scope))

    const adoptHint = (leaseId: string) =>
      `crabbox run --provider ${PROVIDER} --id ${leaseId} --reclaim --no-sync -- true`

    /** At most one local claim of this scope (lease id, slug or VM id). */
    const localClaim = (id: string) =>
      Effect.gen(function* () {
        if (id.trim() === "") return yield* new UsageError({ message: "lease identifier must not be blank" })
        const found = matchClaims(yield* myClaims, { id, provider: PROVIDER, providerScope: scope })
        if (found.length > 1) {
          return yield* new UsageError({ message: `identifier ${id} matches ${found.length} leases (${found.map((c) => c.leaseId).join(", ")})`, hint: "use the lease id" })
        }
        return Option.fromNullable(found[0])
      })

    const freeSlug = (leaseId: string) =>
      Effect.flatMap(claims.list, (all) => Either.match(allocateSlug(leaseId, slugFromLeaseId(leaseId), new Set(all.map((c) => c.slug))), {
        onLeft: Effect.fail, onRight: Effect.succeed
      }))

    const newClaim = (input: {
      leaseId: LeaseId; slug: string; vm: FreestyleVm; repoRoot: string; createdAt: string; ttl: Duration.Duration; idleTimeout: Duration.Duration; keep: boolean
    }): Claim => ({
      version: CLAIM_VERSION,
      leaseId: input.leaseId,
      slug: input.slug,
      provider: PROVIDER,
      providerScope: scope,
      cloudId: input.vm.id,
      state: "ready",
      repoRoot: input.repoRoot,
      createdAt: input.createdAt,
      claimedAt: input.createdAt,
      lastUsedAt: input.createdAt,
      ttlSeconds: Math.round(Duration.toSeconds(input.ttl)),
      idleTimeoutSeconds: Math.round(Duration.toSeconds(input.idleTimeout)),
      keep: input.keep,
      labels: { target: "linux", vm_name: Option.getOrElse(input.vm.name, () => ""), workdir: settings.workspace }
    })

    const toLeaseId = (vmId: string) => {
      const id = leaseIdOf(vmId)
      return isLeaseId(id)
        ? Effect.succeed(id)
        : Effect.fail(new ProviderError({ provider: PROVIDER, message: `VM id ${JSON.stringify(vmId)} cannot name a lease (letters, digits, - and _ only)` }))
    }

    /** Delete a VM whose acquire failed; if that fails too, say how to adopt and stop it. */
    const rollback = (a: FreestyleApiService, vm: FreestyleVm) =>
      runDetached(a.deleteVm(vm.id).pipe(Effect.timeout(CLEANUP_BUDGET))).pipe(
        Effect.catchAll((e) => stdio.err(
          `crabbox: could not delete freestyle vm ${vm.id} after a failed acquire (${"message" in e ? e.message : "timed out"}); ` +
          `adopt it with ${adoptHint(leaseIdOf(vm.id))}, then crabbox stop --provider ${PROVIDER} ${leaseIdOf(vm.id)}`)))

    const warmup = (req: AcquireRequest): Effect.Effect<LeaseView, CrabboxError> =>
      Effect.scoped(Effect.gen(function* () {
        if (Option.isSome(req.serverType)) {
          return yield* new UsageError({ message: `--type is not supported for provider=${PROVIDER}`, hint: "size the VM with --freestyle-vcpus and --freestyle-memory-gb" })
        }
        const a = yield* api
        const name = yield* newVmName(req.repoRoot.slice(req.repoRoot.lastIndexOf("/") + 1))
        const createdAt = yield* nowIso
        yield* stdio.err(`provisioning provider=${PROVIDER} vm=${name}`)
        // The create itself is not interrupted (its VM would be lost); a failure after it deletes the VM.
        const vm = yield* Effect.acquireRelease(
          call(a.createVm({ name, vcpus: settings.vcpus, memoryGB: settings.memoryGB })),
          (created, exit) => Exit.isFailure(exit) ? rollback(a, created) : Effect.void
        )
        const leaseId = yield* toLeaseId(vm.id)
        const slug = req.slugRequested ? req.slug : yield* freeSlug(leaseId)
        const claim = newClaim({ leaseId, slug, vm, repoRoot: req.repoRoot, createdAt, ttl: req.ttl, idleTimeout: req.idleTimeout, keep: req.keep })
        yield* claims.create(claim)
        return leaseViewOf(claim, { status: stateOf(vm) })
      }))

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
          const e = outcome.left
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

    const liveState = (a: FreestyleApiService, vmId: string) =>
      a.getVm(vmId).pipe(
        Effect.map(stateOf),
        Effect.catchIf((e) => e.kind === "not-found", () => Effect.succeed("missing")),
        Effect.mapError(fromApiError))

    const status = (req: ResolveRequest): Effect.Effect<StatusView, CrabboxError> =>
      Effect.gen(function* () {
        const a = yield* api
        const found = yield* localClaim(req.id)
        const nowMs = yield* nowMillis
        const view = Option.isSome(found)
          ? leaseViewOf(found.value, { status: yield* liveState(a, found.value.cloudId!) })
          : unclaimedView(yield* findVm(a, req.id))
        const claim = Option.getOrUndefined(found)
        return {
          ...view,
          ready: view.status === "running",
          hasHost: false,
          sshHost: null,
          sshPort: null,
          sshUser: null,
          sshKey: null,
          workdir: claim?.labels["workdir"] ?? settings.workspace,
          idleForSeconds: claim === undefined ? 0 : idleForSeconds(claim, nowMs),
          idleTimeoutSeconds: claim?.idleTimeoutSeconds ?? 0,
          ttlSeconds: claim?.ttlSeconds ?? 0
        }
      })

    const stop = (req: ResolveRequest): Effect.Effect<LeaseView, CrabboxError> =>
      Effect.gen(function* () {
        const a = yield* api
        const found = yield* localClaim(req.id)
        // Deleting needs the local proof of ownership, not just a crabbox-looking name.
        if (Option.isNone(found)) return yield* new LeaseNotFound({ provider: PROVIDER, id: req.id })
        const known = found.value
        return yield* claims.withLock(known.leaseId, Effect.gen(function* () {
          const current = yield* claims.get(known.leaseId)
          if (Option.isNone(current) || current.value.cloudId !== known.cloudId || current.value.providerScope !== scope) {
            return yield* new ClaimChanged({ leaseId: known.leaseId })
          }
          const releasing: Claim = current.value.state === "releasing" ? current.value : { ...current.value, state: "releasing" }
          if (releasing !== current.value) yield* claims.replace(current.value, releasing)
          yield* call(a.deleteVm(releasing.cloudId!))
          yield* claims.remove(releasing)
          return leaseViewOf(releasing, { status: "deleted" })
        }))
      })

    const list: Effect.Effect<ReadonlyArray<LeaseView>, CrabboxError> = Effect.gen(function* () {
      const a = yield* api
      const vms = yield* call(a.listVms)
      const mine = yield* myClaims
      const byId = new Map(vms.map((v) => [v.id, v]))
      const claimed = new Set(mine.map((c) => c.cloudId))
      return [
        ...mine.map((c) => leaseViewOf(c, { status: Option.match(Option.fromNullable(byId.get(c.cloudId ?? "")), { onNone: () => "missing", onSome: stateOf }) })),
        ...vms.filter((v) => !claimed.has(v.id) && Option.exists(v.name, isCrabboxVmName)).map(unclaimedView)
      ]
    })

    const backend: DelegatedRunBackend = {
      kind: "delegated-run",
      spec: freestyleSpec,
      selectorFlags: Option.match(connected, {
        onNone: () => [],
        onSome: (a) => (a.endpoint === DEFAULT_API_URL ? [] : ["--freestyle-api-url", a.endpoint])
      }),
      archiveLimitBytes: MAX_ARCHIVE_BYTES,
      warmup,
      run: (req) => req.lease._tag === "New"
        ? runOnFreshLease(backend, { ...req, lease: req.lease }).pipe(Effect.provideService(Stdio, stdio))
        : runExisting(req, req.lease.resolve),
      list,
      status,
      stop,
      doctor: freestyleDoctor(api)
    }
    return backend
  })

