/** `crabbox status`: one lease's normalized view; `--wait` polls until SSH answers. */
import { Duration, Effect, Option, Schedule } from "effect"
import { ReadinessTimedOut } from "../../domain/errors.js"
import type { StatusView } from "../../domain/leaseView.js"
import { idleForSeconds } from "../../domain/leaseTiming.js"
import { leaseViewOf } from "../../domain/leaseViewOf.js"
import { SshTransport } from "../../ports/SshTransport.js"
import { Stdio } from "../../ports/Stdio.js"
import { nowMillis } from "../leases/clockTime.js"
import { remoteWorkdir, sshTargetOf } from "../leases/openSession.js"
import type { LeaseTarget, SshLeaseBackend } from "../providers/backend.js"

const probeReady = (lease: LeaseTarget) =>
  Effect.flatMap(SshTransport, (t) => t.probe(sshTargetOf(lease, 4_000), "4 seconds")).pipe(
    Effect.as(true),
    Effect.catchAll(() => Effect.succeed(false))
  )

export const statusView = (lease: LeaseTarget, ready: boolean, nowMs: number, repoName: string): StatusView => {
  const c = lease.claim
  return {
    ...leaseViewOf(c, { status: c.state, host: lease.ssh.host }),
    ready,
    hasHost: true,
    sshHost: lease.ssh.host,
    sshPort: lease.ssh.port,
    sshUser: lease.ssh.user,
    sshKey: Option.getOrNull(lease.ssh.privateKeyPath),
    workdir: remoteWorkdir(lease, repoName),
    idleForSeconds: idleForSeconds(c, nowMs),
    idleTimeoutSeconds: c.idleTimeoutSeconds,
    ttlSeconds: c.ttlSeconds
  }
}

export const statusWorkflow = (
  backend: SshLeaseBackend,
  input: { readonly id: string; readonly repoRoot: string; readonly repoName: string; readonly wait: Option.Option<Duration.Duration> }
) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const lease = yield* backend.resolve({ id: input.id, repoRoot: input.repoRoot, reclaim: false, readOnly: true })
    let ready = yield* probeReady(lease)
    if (!ready && Option.isSome(input.wait)) {
      const limit = input.wait.value
      const start = yield* nowMillis
      ready = yield* probeReady(lease).pipe(
        Effect.tap((ok) => ok ? Effect.void : Effect.flatMap(nowMillis, (now) =>
          stdio.err(`waiting for ${lease.claim.slug} ssh=${lease.ssh.host}:${lease.ssh.port} elapsed=${Math.round((now - start) / 1000)}s`))),
        Effect.repeat({ schedule: Schedule.spaced("5 seconds"), until: (ok) => ok }),
        Effect.as(true),
        Effect.timeoutFail({
          duration: limit,
          onTimeout: () => new ReadinessTimedOut({ leaseId: lease.claim.leaseId, message: `timed out waiting for ${lease.claim.slug} to become ready after ${Duration.format(limit)}` })
        })
      )
    }
    return statusView(lease, ready, yield* nowMillis, input.repoName)
  })
