import { Command } from "@effect/cli"
import { Effect } from "effect"
import { Stdio } from "../../../ports/Stdio.js"
import { renderConfigJson, renderConfigText } from "../../config/showConfig.js"
import { flagRecord, json, providerOptions } from "../options.js"
import { loadCommandConfig } from "../providerContext.js"

const show = Command.make("show", { ...providerOptions, json }, (o) =>
  Effect.gen(function* () {
    const ctx = yield* loadCommandConfig(flagRecord(o))
    const stdio = yield* Stdio
    if (o.json) return yield* stdio.out(renderConfigJson(ctx.loaded))
    for (const line of renderConfigText(ctx.loaded)) yield* stdio.out(line)
  })
).pipe(Command.withDescription("the merged configuration (defaults, files, env, flags) with each value's source; secrets never shown"))

export const configCommand = Command.make("config").pipe(
  Command.withDescription("inspect configuration"),
  Command.withSubcommands([show])
)
