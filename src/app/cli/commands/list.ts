import { Command } from "@effect/cli"
import { Effect } from "effect"
import { Stdio } from "../../../ports/Stdio.js"
import { flagRecord, json, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"
import { renderLeaseTable } from "../render.js"

export const listCommand = Command.make("list", { ...providerOptions, json }, (o) =>
  Effect.gen(function* () {
    const ctx = yield* providerContext(flagRecord(o))
    const views = yield* ctx.backend.list
    const stdio = yield* Stdio
    if (o.json) return yield* stdio.out(JSON.stringify(views))
    for (const line of renderLeaseTable(views)) yield* stdio.out(line)
  })
).pipe(Command.withDescription("list this machine's leases for the provider (read-only)"))
