/**
 * Which config files apply, lowest first, and reading them. The user file lives in the XDG
 * config dir; repo files in the repository root. `CRABBOX_CONFIG` names the only file to read;
 * it still counts as repo config when it lies inside the repository.
 */
import { FileSystem, Path } from "@effect/platform"
import { Config, Effect, Option } from "effect"
import { ConfigError } from "../../domain/errors.js"
import { type ConfigFile, WHOLE_FILE } from "./yamlLayer.js"

export interface ConfigFileCandidate extends ConfigFile {
  /** A named file must exist; the usual locations are optional. */
  readonly required: boolean
}

export const REPO_CONFIG_NAMES = ["crabbox.yaml", ".crabbox.yaml"] as const

const variable = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((value) => value !== "")),
    Effect.orElseSucceed(() => Option.none<string>()))

/** `$XDG_CONFIG_HOME/crabbox/config.yaml`, else `~/.config/crabbox/config.yaml`; none without a home. */
export const userConfigPath: Effect.Effect<Option.Option<string>, never, Path.Path> = Effect.gen(function* () {
  const path = yield* Path.Path
  // the XDG spec says to ignore a relative XDG_CONFIG_HOME
  const xdg = Option.filter(yield* variable("XDG_CONFIG_HOME"), (dir) => path.isAbsolute(dir))
  const home = yield* variable("HOME")
  return Option.orElse(
    Option.map(xdg, (dir) => path.join(dir, "crabbox", "config.yaml")),
    () => Option.map(home, (dir) => path.join(dir, ".config", "crabbox", "config.yaml")))
})

const isInside = (path: Path.Path, root: string, file: string): boolean => {
  const relative = path.relative(root, file)
  return relative !== "" && relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)
}

export const findConfigFiles = (input: { readonly cwd: string; readonly repoRoot: string }) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const named = yield* variable("CRABBOX_CONFIG")
    if (Option.isSome(named)) {
      const file = path.resolve(input.cwd, named.value)
      const origin = isInside(path, path.resolve(input.cwd, input.repoRoot), file) ? "repo-file" : "user-file"
      return [{ path: file, origin, required: true }] as ReadonlyArray<ConfigFileCandidate>
    }
    const user = Option.map(yield* userConfigPath, (file): ConfigFileCandidate => ({ path: file, origin: "user-file", required: false }))
    const repo = REPO_CONFIG_NAMES.map((name): ConfigFileCandidate => ({
      path: path.resolve(input.cwd, input.repoRoot, name), origin: "repo-file", required: false
    }))
    return [...Option.toArray(user), ...repo] as ReadonlyArray<ConfigFileCandidate>
  })

/** The file's text; `None` when an optional file does not exist. */
export const readConfigFile = (file: ConfigFileCandidate): Effect.Effect<Option.Option<string>, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.readFileString(file.path).pipe(Effect.map(Option.some))
  }).pipe(Effect.catchAll((error) =>
    error._tag === "SystemError" && error.reason === "NotFound" && !file.required
      ? Effect.succeed(Option.none<string>())
      : Effect.fail(new ConfigError({
        source: file.path,
        key: WHOLE_FILE,
        message: error._tag === "SystemError" && error.reason === "NotFound" ? "does not exist" : `cannot be read (${error.message})`
      }))))
