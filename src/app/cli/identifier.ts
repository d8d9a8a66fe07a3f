import { Args, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { UsageError } from "../../domain/errors.js"

/** A lease named either positionally or with --id, never both. */
export const idOption = Options.text("id").pipe(Options.withDescription("lease id, slug or provider id"), Options.optional)
export const idArg = Args.text({ name: "lease" }).pipe(Args.withDescription("lease id, slug or provider id"), Args.optional)

export const oneIdentifier = (command: string, flag: Option.Option<string>, positional: Option.Option<string>) => {
  if (Option.isSome(flag) && Option.isSome(positional)) {
    return Effect.fail(new UsageError({ message: `crabbox ${command} takes one identifier; got --id ${flag.value} and ${positional.value}`, hint: `usage: crabbox ${command} <id|slug>` }))
  }
  const id = Option.orElse(flag, () => positional)
  return Option.isNone(id)
    ? Effect.fail(new UsageError({ message: `usage: crabbox ${command} <id|slug>` }))
    : Effect.succeed(id.value)
}
