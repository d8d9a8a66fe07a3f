/** `crabbox cleanup`: the provider's own sweep, reported one line per lease. */
import { Effect } from "effect"
import { ProviderError, UnsupportedFeature } from "../../domain/errors.js"
import { Stdio } from "../../ports/Stdio.js"
import type { Backend } from "../providers/backend.js"

export const cleanupWorkflow = (backend: Backend, dryRun: boolean) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    if (!backend.cleanup) {
      return yield* new UnsupportedFeature({
        provider: backend.spec.name, feature: "cleanup",
        message: `cleanup is not supported for provider=${backend.spec.name}`
      })
    }
    const decisions = yield* backend.cleanup({ dryRun })
    for (const d of decisions) {
      const verb = dryRun && d.action !== "skip" ? `would-${d.action}` : d.action
      const tail = d.outcome === "failed" ? ` error=${JSON.stringify(d.error ?? "")}` : ""
      yield* stdio.err(`${verb} lease=${d.leaseId} slug=${d.slug} server=${d.cloudId ?? "-"} reason=${d.reason}${tail}`)
    }
    const failed = decisions.filter((d) => d.outcome === "failed").length
    return { decisions, failed, fail: failed > 0 ? new ProviderError({ provider: backend.spec.name, message: `cleanup failed for ${failed} lease(s)` }) : undefined }
  })
