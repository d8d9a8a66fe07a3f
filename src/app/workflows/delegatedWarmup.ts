/** `crabbox warmup` for delegated providers: create and claim a lease for later `run --id`. */
import { Duration, Effect, Option } from "effect"
import { formatDuration } from "../../domain/duration.js"
import { Stdio } from "../../ports/Stdio.js"
import { nowMillis } from "../leases/clockTime.js"
import type { DelegatedRunBackend } from "../providers/backend.js"
import { chooseSlug, type NewLeaseOptions } from "./acquireNew.js"
import { delegatedStopCommand } from "./delegatedLease.js"
import { refuseDelegatedOptions } from "./delegatedRun.js"

export const delegatedWarmupWorkflow = (
  backend: DelegatedRunBackend,
  options: NewLeaseOptions & { readonly timingJson: boolean; readonly releaseWhenReady: boolean; readonly idleTimeoutFlag?: boolean }
) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    yield* refuseDelegatedOptions(backend, { serverType: options.serverType, idleTimeoutFlag: options.idleTimeoutFlag ?? false })
    const start = yield* nowMillis
    const { leaseId, slug } = yield* chooseSlug(options)
    const lease = yield* backend.warmup({ ...options, leaseId, slug, slugRequested: Option.isSome(options.slug) })
    yield* stdio.out(`leased ${lease.leaseId} slug=${lease.slug} provider=${lease.provider} server=${lease.cloudId ?? "-"} idle_timeout=${formatDuration(Duration.toMillis(options.idleTimeout))} expires=${lease.expiresAt}`)
    yield* stdio.out(`ready provider=${lease.provider} server=${lease.cloudId ?? "-"} status=${lease.status}`)
    const totalMs = (yield* nowMillis) - start
    yield* stdio.out(`warmup complete total=${formatDuration(totalMs)}`)
    if (options.timingJson) {
      yield* stdio.err(JSON.stringify({ provider: lease.provider, leaseId: lease.leaseId, slug: lease.slug, totalMs, exitCode: 0 }))
    }
    if (options.releaseWhenReady) {
      yield* backend.stop({ id: lease.leaseId, repoRoot: options.repoRoot, reclaim: false, readOnly: true })
      yield* stdio.err(`lease cleanup stopped=true policy=warmup lease=${lease.leaseId} slug=${lease.slug}`)
    } else if (!backend.cleanup) {
      // nothing sweeps expired leases of this provider: say so, whatever --keep says
      yield* stdio.err(`provider=${backend.spec.name} has no cleanup: the lease stays until ${delegatedStopCommand(backend, lease.slug)}`)
    }
    return lease
  })
