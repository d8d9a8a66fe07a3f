import { Command } from "@effect/cli"
import { Effect } from "effect"
import { stopWorkflow } from "../../workflows/stop.js"
import { idArg, idOption, oneIdentifier } from "../identifier.js"
import { flagRecord, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"
import { requireSshLease } from "../sshLease.js"

export const stopCommand = Command.make("stop", { ...providerOptions, id: idOption, lease: idArg }, (o) =>
  Effect.gen(function* () {
    const id = yield* oneIdentifier("stop", o.id, o.lease)
    const ctx = yield* providerContext(flagRecord(o))
    const backend = yield* requireSshLease(ctx.backend, "stop")
    yield* stopWorkflow(backend, id, ctx.repoRoot)
  })
).pipe(Command.withDescription("release a lease and forget its claim"))
