/** The rules of `run`'s flags that hold for every provider, checked before anything is leased. */
import { Effect, Option } from "effect"
import { UsageError } from "../../domain/errors.js"

export interface RunRequestShape {
  readonly argv: ReadonlyArray<string>
  readonly syncOnly: boolean
  readonly id: Option.Option<string>
  readonly newLease: { readonly slug: Option.Option<string>; readonly keep: boolean }
}

export const checkRunRequest = (req: RunRequestShape) => {
  if (req.argv.length === 0 && !req.syncOnly) return Effect.fail(new UsageError({ message: "usage: crabbox run [flags] -- <command...>" }))
  if (Option.isSome(req.id) && (Option.isSome(req.newLease.slug) || req.newLease.keep)) {
    return Effect.fail(new UsageError({ message: "--slug and --keep name or keep a new lease; they do not apply with --id" }))
  }
  if (Option.isNone(req.id) && req.syncOnly && !req.newLease.keep) {
    return Effect.fail(new UsageError({
      message: "--sync-only on a fresh lease would release it right after the sync",
      hint: "add --keep, or sync an existing lease with --id"
    }))
  }
  return Effect.void
}
