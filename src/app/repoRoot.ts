/** The repository a command works on: git's top level, or the directory itself outside git. */
import { Command, CommandExecutor, Path } from "@effect/platform"
import { Effect } from "effect"

export const findRepoRoot = (cwd: string) =>
  Effect.gen(function* () {
    const exec = yield* CommandExecutor.CommandExecutor
    const path = yield* Path.Path
    const top = yield* exec.string(Command.make("git", "rev-parse", "--show-toplevel").pipe(Command.workingDirectory(cwd))).pipe(
      Effect.map((s) => s.trim()),
      Effect.catchAll(() => Effect.succeed(""))
    )
    return top === "" ? path.resolve(cwd) : top
  })
