/** `crabbox stop`: give the machine back and forget the claim. */
import { Effect } from "effect"
import { Stdio } from "../../ports/Stdio.js"
import type { SshLeaseBackend } from "../providers/backend.js"

export const stopWorkflow = (backend: SshLeaseBackend, id: string, repoRoot: string) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const lease = yield* backend.resolve({ id, repoRoot, reclaim: false, readOnly: true })
    yield* backend.release(lease)
    yield* stdio.err(`deleted lease=${lease.claim.leaseId} slug=${lease.claim.slug} server=${lease.claim.cloudId ?? "-"}`)
  })
