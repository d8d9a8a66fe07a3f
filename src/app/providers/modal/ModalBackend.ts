/**
 * The `modal` provider's backend: Modal Sandboxes created, used and terminated through the
 * ModalClient port. Claims live in the same ClaimStore as every other provider's, scoped
 * by app; the sandbox's tags carry ownership for what has no local claim.
 */
import { Cause, Duration, Effect, Option } from "effect"
import { type Claim, CLAIM_VERSION } from "../../../domain/claim.js"
import { type CrabboxError, UnsupportedFeature } from "../../../domain/errors.js"
import { describeError } from "../../../domain/errorMessage.js"
import { idleForSeconds } from "../../../domain/leaseTiming.js"
import type { LeaseView, StatusView } from "../../../domain/leaseView.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import { ClaimStore } from "../../../ports/ClaimStore.js"
import { ModalClients, type ModalSandbox } from "../../../ports/ModalClient.js"
import { Stdio } from "../../../ports/Stdio.js"
import { nowIso, nowMillis } from "../../leases/clockTime.js"
import { runDetached } from "../../leases/detached.js"
import { runOnFreshLease } from "../../workflows/delegatedLease.js"
import type { AcquireRequest, DelegatedRunBackend, DoctorCheck } from "../backend.js"
import { fromModalClient } from "./errors.js"
import { claimFromTags, claimLabels, type LeaseDeps, releaseLease, resolveLease, sandboxesOfLease } from "./modalLeases.js"
import { runInLease, type RunDeps } from "./modalRun.js"
import { MODAL_DEFAULTS, type ModalSettings } from "./settings.js"
import { modalSpec } from "./spec.js"
import { isCrabboxSandbox, OWNERSHIP_TAGS, sandboxTags, sandboxTimeoutSeconds } from "./tags.js"

export const modalScope = (settings: ModalSettings) => `modal:app=${settings.app}`

/** Modal's word for a sandbox that ended is `finished`; the core's status view knows it as `terminated`. */
const liveStatus = (sandbox: Option.Option<ModalSandbox>): string =>
  Option.match(sandbox, { onNone: () => "missing", onSome: (sb) => (sb.status === "running" ? "running" : "terminated") })

const repoNameOf = (repoRoot: string): string => repoRoot.split("/").filter((part) => part !== "").pop() ?? "repo"

export const makeModalBackend = (settings: ModalSettings) =>
  Effect.gen(function* () {
    const claims = yield* ClaimStore
    const stdio = yield* Stdio
    const client = (yield* ModalClients).make({ python: settings.python })
    const deps: RunDeps = { claims, stdio, client, settings, scope: modalScope(settings) }
    const leaseDeps: LeaseDeps = deps

    const refuseType = (request: AcquireRequest) =>
      Option.isSome(request.serverType)
        ? Effect.fail(new UnsupportedFeature({
          provider: modalSpec.name, feature: "--type",
          message: "--type is not supported for provider=modal: the sandbox runs modal.image (--modal-image) with Modal's default resources"
        }))
        : Effect.void

    const terminate = (id: string) => client.terminate(id).pipe(Effect.mapError(fromModalClient))

    /**
     * After a failed or interrupted create: terminate the sandbox the failure named (an old
     * client's create that could not tag it) and whatever got made under this lease, then
     * forget the intent. If Modal cannot confirm, the intent stays as `recovery` (with the
     * named sandbox as its cloud id, so stop terminates it by id).
     */
    const rollback = (intent: Claim, made: Option.Option<string> = Option.none()) =>
      Effect.forEach(Option.toArray(made), terminate, { discard: true }).pipe(
        Effect.zipRight(sandboxesOfLease(leaseDeps, intent.leaseId)),
        Effect.flatMap((found) => Effect.forEach(found.filter((sb) => !Option.contains(made, sb.id)), (sb) => terminate(sb.id), { discard: true })),
        Effect.zipRight(claims.remove(intent)),
        Effect.catchAll((e: CrabboxError) =>
          claims.replace(intent, Option.match(made, {
            onNone: (): Claim => ({ ...intent, state: "recovery" }),
            onSome: (cloudId): Claim => ({ ...intent, state: "recovery", cloudId })
          })).pipe(
            Effect.ignore,
            Effect.zipRight(stdio.err(`crabbox: could not confirm that no modal sandbox was left for lease ${intent.leaseId}${Option.match(made, { onNone: () => "", onSome: (id) => ` (sandbox ${id})` })} (${describeError(e)}); crabbox stop --provider modal ${intent.leaseId} finishes it`))
          ))
      )

    const warmup = (request: AcquireRequest) =>
      Effect.gen(function* () {
        yield* refuseType(request)
        const timeoutSeconds = sandboxTimeoutSeconds(request.ttl)
        const now = yield* nowIso
        const nowSeconds = Math.floor((yield* nowMillis) / 1000)
        const intent: Claim = {
          version: CLAIM_VERSION,
          leaseId: request.leaseId,
          slug: request.slug,
          provider: modalSpec.name,
          providerScope: deps.scope,
          state: "create-intent",
          repoRoot: request.repoRoot,
          createdAt: now,
          claimedAt: now,
          lastUsedAt: now,
          ttlSeconds: timeoutSeconds,
          idleTimeoutSeconds: Math.round(Duration.toSeconds(request.idleTimeout)),
          keep: request.keep,
          labels: claimLabels(settings, settings.image)
        }
        // written before the create, whose outcome a crash or Ctrl-C could lose
        yield* claims.create(intent)
        yield* stdio.err(`provisioning provider=modal lease=${request.leaseId} slug=${request.slug} app=${settings.app} image=${settings.image} timeout=${timeoutSeconds}s`)
        const tags = sandboxTags({
          leaseId: request.leaseId, slug: request.slug, keep: request.keep, app: settings.app, image: settings.image,
          expiresAt: nowSeconds + Math.min(timeoutSeconds, Math.round(Duration.toSeconds(request.idleTimeout))),
          repoName: repoNameOf(request.repoRoot)
        })
        const sandbox = yield* client.create({ app: settings.app, image: settings.image, workdir: settings.workdir, timeoutSeconds, tags }).pipe(
          Effect.onError((cause) => runDetached(Option.match(Cause.failureOption(cause), {
            // a sandbox the create made but could not hand back: make sure it is gone
            onSome: (e) => e.sandboxId !== undefined
              ? rollback(intent, Option.some(e.sandboxId))
              // the client never ran or Modal refused it: nothing can exist
              : e.kind === "missing-client" || e.kind === "auth" ? claims.remove(intent).pipe(Effect.ignore) : rollback(intent),
            onNone: () => rollback(intent)
          }))),
          Effect.mapError(fromModalClient)
        )
        const ready: Claim = { ...intent, state: "ready", cloudId: sandbox.id }
        yield* claims.replace(intent, ready).pipe(Effect.onError(() =>
          runDetached(terminate(sandbox.id).pipe(Effect.zipRight(claims.remove(intent)))).pipe(
            Effect.catchAll((e) => stdio.err(`crabbox: modal sandbox ${sandbox.id} may be left running (${describeError(e)}); crabbox stop --provider modal ${sandbox.id} stops it`)))))
        return leaseViewOf(ready, { status: "running" })
      })

    const statusView = (claim: Claim, sandbox: Option.Option<ModalSandbox>, nowMs: number): StatusView => {
      const status = liveStatus(sandbox)
      return {
        ...leaseViewOf(claim, { status }),
        ready: status === "running",
        hasHost: false,
        sshHost: null,
        sshPort: null,
        sshUser: null,
        sshKey: null,
        workdir: claim.labels["workdir"] ?? settings.workdir,
        idleForSeconds: idleForSeconds(claim, nowMs),
        idleTimeoutSeconds: claim.idleTimeoutSeconds,
        ttlSeconds: claim.ttlSeconds
      }
    }

    /** Local claims with live status, plus crabbox sandboxes of the app this machine has no claim for. */
    const list = Effect.gen(function* () {
      const mine = (yield* claims.list).filter((c) => c.provider === modalSpec.name && c.providerScope === deps.scope)
      const live = yield* client.list({ app: settings.app, tags: { ...OWNERSHIP_TAGS } }).pipe(
        Effect.map(Option.some),
        Effect.catchAll((e) => stdio.err(`warning: modal list failed, showing local claims only: ${describeError(fromModalClient(e))}`).pipe(
          Effect.as(Option.none<ReadonlyArray<ModalSandbox>>())))
      )
      const running = Option.getOrElse(live, () => [] as ReadonlyArray<ModalSandbox>).filter((sb) => isCrabboxSandbox(sb.tags))
      const claimed = new Set(mine.flatMap((c) => (c.cloudId === undefined ? [] : [c.cloudId])))
      const views: Array<LeaseView> = mine.map((c) => leaseViewOf(c, Option.isNone(live) || c.cloudId === undefined
        ? {}
        : { status: running.some((sb) => sb.id === c.cloudId) ? "running" : "terminated" }))
      for (const sb of running.filter((s) => !claimed.has(s.id))) {
        const found = yield* claimFromTags(leaseDeps, sb, "").pipe(Effect.option)
        if (Option.isSome(found)) views.push(leaseViewOf(found.value, { status: "running" }))
      }
      return views
    })

    const doctor = Effect.gen(function* () {
      const checks: Array<DoctorCheck> = []
      const listed = yield* client.list({ app: settings.app, tags: { ...OWNERSHIP_TAGS } }).pipe(Effect.either)
      if (listed._tag === "Right") {
        checks.push({ status: "ok", check: "modal_client", message: `${settings.python} runs the modal client; app ${settings.app} has ${listed.right.length} crabbox sandbox(es) running` })
      } else {
        checks.push({ status: "failed", check: "modal_client", message: describeError(fromModalClient(listed.left)) })
      }
      return checks as ReadonlyArray<DoctorCheck>
    })

    const backend: DelegatedRunBackend = {
      kind: "delegated-run",
      spec: modalSpec,
      selectorFlags: settings.app === MODAL_DEFAULTS.app ? [] : ["--modal-app", settings.app],
      warmup,
      run: (request) => request.lease._tag === "New"
        ? runOnFreshLease(backend, { ...request, lease: request.lease }).pipe(Effect.provideService(Stdio, stdio))
        : Effect.flatMap(resolveLease(leaseDeps, { ...request.lease.resolve, readOnly: false }), (lease) => runInLease(deps, lease, request)),
      list,
      status: (request) => Effect.gen(function* () {
        const lease = yield* resolveLease(leaseDeps, { ...request, readOnly: true })
        const sandbox = lease.claim.cloudId === undefined
          ? Option.none<ModalSandbox>()
          : yield* client.get(lease.claim.cloudId).pipe(Effect.mapError(fromModalClient))
        return statusView(lease.claim, sandbox, yield* nowMillis)
      }),
      stop: (request) => Effect.gen(function* () {
        const lease = yield* resolveLease(leaseDeps, { ...request, readOnly: true })
        yield* releaseLease(leaseDeps, lease)
        return leaseViewOf(lease.claim, { status: "terminated" })
      }),
      doctor
    }
    return backend
  })
