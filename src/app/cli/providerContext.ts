/** Everything a lease command needs: repo, merged config and the selected provider's backend. */
import { Path } from "@effect/platform"
import { Effect, Either } from "effect"
import { flagSpelling, givenFlags, type FlagValues } from "../config/flagLayer.js"
import { UsageError } from "../../domain/errors.js"
import { loadConfig } from "../config/loadConfig.js"
import { builtinProviders } from "../providers/builtin.js"
import { CORE_FLAGS, lookupProvider } from "../providers/registry.js"
import { findRepoRoot } from "../repoRoot.js"

export const loadCommandConfig = (flags: FlagValues) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const cwd = path.resolve(".")
    const repoRoot = yield* findRepoRoot(cwd)
    const loaded = yield* loadConfig({ cwd, repoRoot, flags })
    return { cwd, repoRoot, repoName: path.basename(repoRoot), loaded, config: loaded.config }
  })

export const providerContext = (flags: FlagValues) =>
  Effect.gen(function* () {
    const base = yield* loadCommandConfig(flags)
    const module = yield* Either.match(lookupProvider(builtinProviders, base.config.provider), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const foreign = givenFlags(flags).filter((name) => !(CORE_FLAGS as ReadonlyArray<string>).includes(name) && !(module.flags as ReadonlyArray<string>).includes(name))
    if (foreign.length > 0) {
      const own = module.flags.map(flagSpelling)
      return yield* new UsageError({
        message: `${foreign.map(flagSpelling).join(", ")} ${foreign.length === 1 ? "does" : "do"} not apply to provider=${module.spec.name}`,
        hint: own.length === 0 ? "it takes no provider flags" : `its flags: ${own.join(", ")}`
      })
    }
    const backend = yield* module.configure(base.config, { origins: base.loaded.origins, sources: base.loaded.sources })
    return { ...base, backend }
  })
