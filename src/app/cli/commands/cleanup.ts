import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { Stdio } from "../../../ports/Stdio.js"
import { cleanupWorkflow } from "../../workflows/cleanup.js"
import { flagRecord, json, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"

export const cleanupCommand = Command.make("cleanup", {
  ...providerOptions,
  json,
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("print the decisions, change nothing"))
}, (o) =>
  Effect.gen(function* () {
    const ctx = yield* providerContext(flagRecord(o))
    const result = yield* cleanupWorkflow(ctx.backend, o.dryRun)
    if (o.json) yield* (yield* Stdio).out(JSON.stringify(result.decisions))
    if (result.fail) return yield* result.fail
  })
).pipe(Command.withDescription("end expired leases that this machine's claims prove it owns; kept leases are skipped"))
