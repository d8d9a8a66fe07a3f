import { Command } from "@effect/cli"
import { Effect } from "effect"
import { stopWorkflow } from "../../workflows/stop.js"
import { delegatedStopWorkflow } from "../../workflows/delegatedStop.js"
import { idArg, idOption, oneIdentifier } from "../identifier.js"
import { flagRecord, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"

export const stopCommand = Command.make("stop", { ...providerOptions, id: idOption, lease: idArg }, (o) =>
  Effect.gen(function* () {
    const id = yield* oneIdentifier("stop", o.id, o.lease)
    const ctx = yield* providerContext(flagRecord(o))
    yield* ctx.backend.kind === "ssh-lease"
      ? stopWorkflow(ctx.backend, id, ctx.repoRoot)
      : delegatedStopWorkflow(ctx.backend, id, ctx.repoRoot)
  })
).pipe(Command.withDescription("release a lease and forget its claim"))
