/** `crabbox stop` for delegated providers: the provider deletes and forgets; the core reports. */
import { Effect } from "effect"
import { Stdio } from "../../ports/Stdio.js"
import type { DelegatedRunBackend } from "../providers/backend.js"

export const delegatedStopWorkflow = (backend: DelegatedRunBackend, id: string, repoRoot: string) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const view = yield* backend.stop({ id, repoRoot, reclaim: false, readOnly: true })
    yield* stdio.err(view
      ? `deleted lease=${view.leaseId} slug=${view.slug} server=${view.cloudId ?? "-"}`
      : `deleted lease=${id} provider=${backend.spec.name}`)
  })
