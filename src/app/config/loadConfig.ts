/**
 * Load the configuration: defaults < user file < repo files < environment < flags.
 * Each layer is checked for secrets on its own (a refused token is refused even when a
 * higher layer overrides it); validation runs once, on the merged values.
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Option } from "effect"
import type { ConfigError } from "../../domain/errors.js"
import { findConfigFiles, readConfigFile } from "./configFiles.js"
import { envLayer } from "./envLayer.js"
import { flagLayer, type FlagValues } from "./flagLayer.js"
import { type ConfigLayer, layerFromObject, mergeLayers } from "./layers.js"
import { type ResolvedConfig, resolveConfig } from "./resolveConfig.js"
import { CONFIG_DEFAULTS } from "./schema.js"
import { refuseSecrets } from "./secrets.js"
import { parseYamlLayer } from "./yamlLayer.js"

export interface LoadedConfig extends ResolvedConfig {
  /** The config files that were read, lowest precedence first. */
  readonly files: ReadonlyArray<string>
}

export interface LoadConfigInput {
  /** Relative paths (`CRABBOX_CONFIG`) resolve against it. */
  readonly cwd: string
  readonly repoRoot: string
  readonly flags: FlagValues
}

export const defaultsLayer: ConfigLayer = layerFromObject(CONFIG_DEFAULTS, { source: "default", origin: "default" })

const fileLayers = (input: LoadConfigInput) => Effect.gen(function* () {
  const layers: Array<ConfigLayer> = []
  const files: Array<string> = []
  for (const file of yield* findConfigFiles(input)) {
    const text = yield* readConfigFile(file)
    if (Option.isNone(text)) continue
    const layer = yield* parseYamlLayer(text.value, file)
    layers.push(yield* refuseSecrets(layer, { checkKeyNames: true }))
    files.push(file.path)
  }
  return { layers, files }
})

export const loadConfig = (
  input: LoadConfigInput
): Effect.Effect<LoadedConfig, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const { layers, files } = yield* fileLayers(input)
    const env = yield* refuseSecrets(yield* envLayer(), { checkKeyNames: false })
    const flags = yield* refuseSecrets(flagLayer(input.flags), { checkKeyNames: false })
    const resolved = yield* resolveConfig(mergeLayers([defaultsLayer, ...layers, env, flags]))
    return { ...resolved, files }
  }).pipe(Effect.withSpan("config.load"))
