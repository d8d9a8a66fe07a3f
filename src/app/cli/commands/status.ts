import { Command, Options } from "@effect/cli"
import { Either, Effect, Option } from "effect"
import { parseDuration } from "../../../domain/duration.js"
import { UsageError } from "../../../domain/errors.js"
import { Stdio } from "../../../ports/Stdio.js"
import { statusWorkflow } from "../../workflows/status.js"
import { delegatedStatusWorkflow } from "../../workflows/delegatedStatus.js"
import { idArg, idOption, oneIdentifier } from "../identifier.js"
import { flagRecord, json, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"
import { renderStatus } from "../render.js"

export const statusCommand = Command.make("status", {
  ...providerOptions,
  id: idOption,
  lease: idArg,
  json,
  wait: Options.boolean("wait").pipe(Options.withDescription("poll until the lease answers over SSH")),
  waitTimeout: Options.text("wait-timeout").pipe(Options.withDescription("how long --wait waits (default 5m)"), Options.withDefault("5m"))
}, (o) =>
  Effect.gen(function* () {
    const id = yield* oneIdentifier("status", o.id, o.lease)
    const waitFor = yield* Either.match(parseDuration(o.waitTimeout), {
      onLeft: (reason) => Effect.fail(new UsageError({ message: `--wait-timeout ${JSON.stringify(o.waitTimeout)}: ${reason}` })),
      onRight: Effect.succeed
    })
    const ctx = yield* providerContext(flagRecord(o))
    const wait = o.wait ? Option.some(waitFor) : Option.none()
    const view = yield* ctx.backend.kind === "ssh-lease"
      ? statusWorkflow(ctx.backend, { id, repoRoot: ctx.repoRoot, repoName: ctx.repoName, wait })
      : delegatedStatusWorkflow(ctx.backend, { id, repoRoot: ctx.repoRoot, wait })
    const stdio = yield* Stdio
    yield* stdio.out(o.json ? JSON.stringify(view) : renderStatus(view))
  })
).pipe(Command.withDescription("show one lease (read-only); --wait polls until it is ready"))
