/** `crabbox warmup`: acquire a lease, wait for SSH, keep it for later `run --id`. */
import { Effect, Option } from "effect"
import { expiresAt } from "../../domain/leaseTiming.js"
import { formatDuration } from "../../domain/duration.js"
import { Stdio } from "../../ports/Stdio.js"
import { nowMillis } from "../leases/clockTime.js"
import type { SshLeaseBackend } from "../providers/backend.js"
import { acquireNew, type NewLeaseOptions } from "./acquireNew.js"

/**
 * A warmed lease stays until `stop` or until cleanup finds it expired; `keep` exempts it
 * from expiry, `releaseWhenReady` makes warmup a readiness check that gives it back.
 */
export const warmupWorkflow = (
  backend: SshLeaseBackend,
  options: NewLeaseOptions & { readonly timingJson: boolean; readonly releaseWhenReady: boolean }
) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const start = yield* nowMillis
    const lease = yield* acquireNew(backend, options)
    const c = lease.claim
    yield* stdio.out(`leased ${c.leaseId} slug=${c.slug} provider=${c.provider} server=${c.cloudId ?? "-"} ip=${lease.ssh.host} idle_timeout=${formatDuration(c.idleTimeoutSeconds * 1000)} expires=${Option.match(expiresAt(c), { onNone: () => "unknown", onSome: (e) => e.at })}`)
    yield* stdio.out(`ready ssh=${lease.ssh.user}@${lease.ssh.host}:${lease.ssh.port} workroot=${lease.ssh.workRoot}`)
    const totalMs = (yield* nowMillis) - start
    yield* stdio.out(`warmup complete total=${formatDuration(totalMs)}`)
    if (options.timingJson) {
      yield* stdio.err(JSON.stringify({ provider: c.provider, leaseId: c.leaseId, slug: c.slug, totalMs, exitCode: 0 }))
    }
    if (options.releaseWhenReady) {
      yield* backend.release(lease)
      yield* stdio.err(`lease cleanup stopped=true policy=warmup lease=${c.leaseId} slug=${c.slug}`)
    }
    return lease
  })
