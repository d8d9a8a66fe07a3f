/**
 * The `freestyle` provider's backend: VMs created through Freestyle's v1 API, leased as
 * `fsb_<vm id>`, claimed in the same ClaimStore as every other lease. Commands run through
 * exec-await (no SSH); the workspace arrives as an archive (sync.ts).
 */
import { Duration, Effect, Either, Exit, Option, Ref, Stream } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { CLAIM_VERSION, isUsable } from "../../../domain/claim.js"
import {
  ClaimChanged, type CrabboxError, LeaseNotFound, LeaseStateConflict, ProviderError, RemoteSetupFailed, SyncError, UsageError
} from "../../../domain/errors.js"
import { isLeaseId, type LeaseId } from "../../../domain/ids.js"
import { idleForSeconds } from "../../../domain/leaseTiming.js"
import type { LeaseView, StatusView } from "../../../domain/leaseView.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import { redact } from "../../../domain/redact.js"
import { shellQuote } from "../../../domain/shellQuote.js"
import { allocateSlug, slugFromLeaseId } from "../../../domain/slug.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import type { FreestyleApiService, FreestyleVm } from "../../../ports/FreestyleApi.js"
import { FreestyleApiError, FreestyleApis } from "../../../ports/FreestyleApi.js"
import { Stdio } from "../../../ports/Stdio.js"
import { nowIso, nowMillis } from "../../leases/clockTime.js"
import { runDetached } from "../../leases/detached.js"
import { checkRepoBinding, matchClaims } from "../../leases/findClaim.js"
import { runOnFreshLease } from "../../workflows/delegatedLease.js"
import type { AcquireRequest, DelegatedRunBackend, DelegatedRunRequest, DelegatedRunResult, ResolveRequest } from "../backend.js"
import { forwardedValueSpellings, runCommand } from "./command.js"
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
/** the claim label naming the VM a create-intent claim is for (its only handle before the create answers) */
const VM_NAME = "vm_name"

/** Freestyle refused the create: it made nothing. Any other failure may have made the VM. */
const refusedCreate = (e: FreestyleApiError) =>
  e.kind === "auth" || e.kind === "permission" || e.kind === "validation" || e.kind === "rate-limited" ||
  e.kind === "not-found" || e.kind === "redirect" || (e.kind === "http" && e.status !== undefined && e.status >= 400 && e.status < 500)

/** No answer came back (a timeout, a dropped connection): the server may still be making the VM. */
const unanswered = (e: FreestyleApiError) => e.kind === "timeout" || e.kind === "transport"

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

    /** The create-intent claim of a warmup: written before the create, so a crash leaves it for stop and list. */
    const intentClaim = (req: AcquireRequest, name: string, createdAt: string): Claim => ({
      version: CLAIM_VERSION,
      leaseId: req.leaseId,
      // the VM name is unique and a valid slug; the lease's own slug goes to the fsb_ claim
      slug: name,
      provider: PROVIDER,
      providerScope: scope,
      state: "create-intent",
      repoRoot: req.repoRoot,
      createdAt,
      claimedAt: createdAt,
      lastUsedAt: createdAt,
      ttlSeconds: Math.round(Duration.toSeconds(req.ttl)),
      idleTimeoutSeconds: Math.round(Duration.toSeconds(req.idleTimeout)),
      keep: req.keep,
      labels: { target: "linux", [VM_NAME]: name, workdir: settings.workspace }
    })

    /** The intent as last written; after a failed write it is what the store still holds. */
    const updateIntent = (intent: Ref.Ref<Claim>, patch: Partial<Claim>) =>
      Effect.gen(function* () {
        const current = yield* Ref.get(intent)
        const next: Claim = { ...current, ...patch }
        yield* claims.replace(current, next)
        yield* Ref.set(intent, next)
      })

    const forgetIntent = (intent: Ref.Ref<Claim>) => Effect.flatMap(Ref.get(intent), claims.remove)

    /** pasteable: names the endpoint too when it is not the default (claims are scoped by it) */
    const finishHint = (leaseId: string) => [
      `crabbox stop --provider ${PROVIDER}`,
      ...Option.match(connected, { onNone: () => [], onSome: (c) => (c.endpoint === DEFAULT_API_URL ? [] : [`--freestyle-api-url ${shellQuote(c.endpoint)}`]) }),
      leaseId
    ].join(" ")

    /** Delete a VM whose acquire failed, then forget the intent; if the delete fails, the intent stays as recovery. */
    const rollback = (a: FreestyleApiService, vm: FreestyleVm, intent: Ref.Ref<Claim>) =>
      runDetached(a.deleteVm(vm.id).pipe(Effect.timeout(CLEANUP_BUDGET))).pipe(
        Effect.matchEffect({
          onSuccess: () => forgetIntent(intent).pipe(Effect.ignore),
          onFailure: (e) => Effect.gen(function* () {
            yield* updateIntent(intent, { state: "recovery", cloudId: vm.id }).pipe(Effect.ignore)
            const leaseId = (yield* Ref.get(intent)).leaseId
            yield* stdio.err(
              `crabbox: could not delete freestyle vm ${vm.id} after a failed acquire (${"message" in e ? e.message : "timed out"}); ` +
              `${finishHint(leaseId)} deletes it (or adopt it with ${adoptHint(leaseIdOf(vm.id))})`)
          })
        }))

    /** The crabbox VMs with exactly this generated name (a claim that never learned its VM id). */
    const vmsNamed = (vms: ReadonlyArray<FreestyleVm>, name: string | undefined) =>
      name === undefined || !isCrabboxVmName(name) ? [] : vms.filter((v) => Option.contains(v.name, name))

    /**
     * The create failed. A refusal made nothing: the intent goes. Otherwise the VM may exist
     * (the request may have been carried out though its answer was lost), so it is looked up by
     * its generated name and deleted; only a confirmed outcome forgets the intent. Always fails.
     */
    const recoverCreate = (a: FreestyleApiService, intent: Ref.Ref<Claim>, name: string, e: FreestyleApiError) =>
      Effect.gen(function* () {
        if (refusedCreate(e)) {
          yield* forgetIntent(intent)
          return yield* fromApiError(e)
        }
        const leaseId = (yield* Ref.get(intent)).leaseId
        const cleaned = yield* Effect.either(Effect.gen(function* () {
          const found = vmsNamed(yield* a.listVms, name)
          for (const vm of found) yield* a.deleteVm(vm.id)
          return found.map((v) => v.id)
        }))
        if (Either.isLeft(cleaned)) {
          yield* updateIntent(intent, { state: "recovery" }).pipe(Effect.ignore)
          return yield* new ProviderError({
            provider: PROVIDER,
            message: `${e.message}; the create may have made vm ${name}, and finding or deleting it failed (${cleaned.left.message}); ` +
              `the claim is kept: ${finishHint(leaseId)} deletes the VM if it exists`
          })
        }
        if (cleaned.right.length > 0) {
          yield* forgetIntent(intent)
          return yield* new ProviderError({ provider: PROVIDER, message: `${e.message}; the VM it made (${cleaned.right.join(", ")}) was deleted again` })
        }
        if (unanswered(e)) {
          // no answer and no VM yet: the server may still be making it
          yield* updateIntent(intent, { state: "recovery" }).pipe(Effect.ignore)
          return yield* new ProviderError({
            provider: PROVIDER,
            message: `${e.message}; no vm ${name} is listed yet, but the create may still finish; ` +
              `the claim is kept: ${finishHint(leaseId)} deletes the VM if it appears and forgets the claim`
          })
        }
        yield* forgetIntent(intent)
        return yield* fromApiError(e)
      })

    const warmup = (req: AcquireRequest): Effect.Effect<LeaseView, CrabboxError> =>
      Effect.scoped(Effect.gen(function* () {
        if (Option.isSome(req.serverType)) {
          return yield* new UsageError({ message: `--type is not supported for provider=${PROVIDER}`, hint: "size the VM with --freestyle-vcpus and --freestyle-memory-gb" })
        }
        const a = yield* api
        const name = yield* newVmName(req.repoRoot.slice(req.repoRoot.lastIndexOf("/") + 1))
        const createdAt = yield* nowIso
        // Written before the create: a process killed during it leaves this claim, which
        // list shows and stop finishes (it finds the VM by its name).
        const written = intentClaim(req, name, createdAt)
        yield* claims.create(written)
        const intent = yield* Ref.make(written)
        yield* stdio.err(`provisioning provider=${PROVIDER} vm=${name}`)
        // The create itself is not interrupted (its answer would be lost); a failed one is
        // recovered by name, and a failure after it deletes the VM.
        const vm = yield* Effect.acquireRelease(
          a.createVm({ name, vcpus: settings.vcpus, memoryGB: settings.memoryGB }).pipe(
            Effect.catchAll((e) => recoverCreate(a, intent, name, e))),
          (created, exit) => Exit.isFailure(exit) ? rollback(a, created, intent) : Effect.void
        )
        yield* updateIntent(intent, { state: "provisioning", cloudId: vm.id })
        const leaseId = yield* toLeaseId(vm.id)
        const slug = req.slugRequested ? req.slug : yield* freeSlug(leaseId)
        const claim = newClaim({ leaseId, slug, vm, repoRoot: req.repoRoot, createdAt, ttl: req.ttl, idleTimeout: req.idleTimeout, keep: req.keep })
        yield* claims.create(claim)
        // The lease is claimed; a leftover intent names the same VM, which stop deletes once.
        yield* forgetIntent(intent).pipe(Effect.catchAll((e) =>
          stdio.err(`crabbox: could not remove the create-intent claim ${written.leaseId} (${e.message}); ${finishHint(written.leaseId)} removes it`)))
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

    const liveState = (a: FreestyleApiService, vmId: string) =>
      a.getVm(vmId).pipe(
        Effect.map(stateOf),
        Effect.catchIf((e) => e.kind === "not-found", () => Effect.succeed("missing")),
        Effect.mapError(fromApiError))

    /** The live state of a claim's VM; a claim that never learned its VM id looks it up by name. */
    const claimState = (a: FreestyleApiService, claim: Claim) =>
      claim.cloudId !== undefined
        ? liveState(a, claim.cloudId)
        : Effect.map(call(a.listVms), (vms) => Option.match(Option.fromNullable(vmsNamed(vms, claim.labels[VM_NAME])[0]), {
          onNone: () => claim.state,
          onSome: stateOf
        }))

    const status = (req: ResolveRequest): Effect.Effect<StatusView, CrabboxError> =>
      Effect.gen(function* () {
        const a = yield* api
        const found = yield* localClaim(req.id)
        const nowMs = yield* nowMillis
        const view = Option.isSome(found)
          ? leaseViewOf(found.value, { status: yield* claimState(a, found.value) })
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
          // A create-intent that never learned its VM id: the VM, if the create made one, has its generated name.
          const doomed = releasing.cloudId !== undefined
            ? [releasing.cloudId]
            : vmsNamed(yield* call(a.listVms), releasing.labels[VM_NAME]).map((v) => v.id)
          for (const id of doomed) yield* call(a.deleteVm(id))
          yield* claims.remove(releasing)
          return leaseViewOf({ ...releasing, ...(doomed[0] === undefined ? {} : { cloudId: doomed[0] }) }, { status: "deleted" })
        }))
      })

    const list: Effect.Effect<ReadonlyArray<LeaseView>, CrabboxError> = Effect.gen(function* () {
      const a = yield* api
      const vms = yield* call(a.listVms)
      const mine = yield* myClaims
      const byId = new Map(vms.map((v) => [v.id, v]))
      // a claim without a VM id (a create-intent) owns the VM with its generated name
      const named = new Map(mine.filter((c) => c.cloudId === undefined).map((c) => [c, vmsNamed(vms, c.labels[VM_NAME])[0]]))
      const claimed = new Set([...mine.map((c) => c.cloudId), ...[...named.values()].map((v) => v?.id)])
      const viewOf = (c: Claim) => {
        if (c.cloudId === undefined) {
          const vm = named.get(c)
          return vm === undefined ? leaseViewOf(c) : leaseViewOf({ ...c, cloudId: vm.id }, { status: stateOf(vm) })
        }
        return leaseViewOf(c, { status: Option.match(Option.fromNullable(byId.get(c.cloudId)), { onNone: () => "missing", onSome: stateOf }) })
      }
      return [
        ...mine.map(viewOf),
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

