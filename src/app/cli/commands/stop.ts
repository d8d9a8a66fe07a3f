import { Command, Options } from "@effect/cli"
import { UsageError } from "../../../domain/errors.js"
import { forgetUnverifiedWorkflow } from "../../workflows/forgetUnverified.js"
import { Effect } from "effect"
import { stopWorkflow } from "../../workflows/stop.js"
import { delegatedStopWorkflow } from "../../workflows/delegatedStop.js"
import { idArg, idOption, oneIdentifier } from "../identifier.js"
import { flagRecord, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"

export const stopCommand = Command.make("stop", {
  ...providerOptions,
  id: idOption,
  lease: idArg,
  forgetUnverified: Options.boolean("forget-unverified").pipe(Options.withDescription(
    "drop the claim of a create that was never confirmed (no machine id known, replay window over) after checking the provider's dashboard; deletes nothing"))
}, (o) =>
  Effect.gen(function* () {
    const id = yield* oneIdentifier("stop", o.id, o.lease)
    const ctx = yield* providerContext(flagRecord(o))
    if (ctx.backend.kind !== "ssh-lease") {
      if (o.forgetUnverified) return yield* new UsageError({ message: `--forget-unverified applies to SSH-lease providers, not provider=${ctx.backend.spec.name}` })
      return yield* delegatedStopWorkflow(ctx.backend, id, ctx.repoRoot)
    }
    yield* o.forgetUnverified
      ? forgetUnverifiedWorkflow(ctx.backend, id, ctx.repoRoot)
      : stopWorkflow(ctx.backend, id, ctx.repoRoot)
  })
).pipe(Command.withDescription("release a lease and forget its claim"))
