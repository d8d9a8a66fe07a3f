/**
 * The `fal` provider: fal Compute GPU instances as SSH leases. It is the generic
 * ComputeLeaseBackend plus the fal adapter (through ComputeClouds), this spec and config.
 * The key comes only from the environment (CRABBOX_FAL_KEY wins over FAL_KEY).
 */
import { Config, Effect, Either, Option, Redacted } from "effect"
import { ConfigError, CredentialsMissing, UsageError } from "../../../domain/errors.js"
import { ComputeClouds } from "../../../ports/ComputeApi.js"
import type { CrabboxConfig } from "../../config/schema.js"
import { makeComputeLeaseBackend } from "../compute/ComputeLeaseBackend.js"
import { defaultComputeTiming } from "../compute/settings.js"
import type { ConfigureContext, ProviderModule, ProviderServices } from "../registry.js"
import { DEFAULT_FAL_TYPE, falMachine } from "./machineTypes.js"
import { falSpec } from "./spec.js"

export const DEFAULT_FAL_API_URL = "https://api.fal.ai/v1"

/** The first of the variables that is set and not blank. */
const falKey = Config.redacted("CRABBOX_FAL_KEY").pipe(
  Config.validate({ message: "blank", validation: (k) => Redacted.value(k).trim() !== "" }),
  Config.orElse(() => Config.redacted("FAL_KEY").pipe(
    Config.validate({ message: "blank", validation: (k) => Redacted.value(k).trim() !== "" }))),
  Config.option
)

const missingKey = new CredentialsMissing({
  provider: "fal",
  message: "provider=fal needs a fal ADMIN key in the environment: set CRABBOX_FAL_KEY or FAL_KEY (there is no key flag or config key)"
})

export const falProvider: ProviderModule<ProviderServices> = {
  spec: falSpec,
  // --ssh-port is the core SSH port setting every SSH-lease provider honours
  flags: ["fal-api-url", "fal-instance-type", "fal-sector", "fal-user", "fal-work-root", "ssh-port"],
  configure: (config: CrabboxConfig, context: ConfigureContext) =>
    Effect.gen(function* () {
      const fal = config.fal
      if (context.origins["fal.apiUrl"] === "repo-file") {
        return yield* new ConfigError({
          source: context.sources["fal.apiUrl"] ?? "repo config", key: "fal.apiUrl",
          message: "may not be set by a repository config file: it decides where your fal key is sent; set it in your user config, CRABBOX_FAL_API_URL or --fal-api-url"
        })
      }
      const apiUrl = fal.apiUrl ?? DEFAULT_FAL_API_URL
      const key = yield* Effect.orDie(falKey)
      const api = Option.isSome(key)
        ? Either.right(yield* (yield* ComputeClouds).fal({ apiUrl, key: key.value }))
        : Either.left(missingKey)
      const endpoint = Either.match(api, { onLeft: () => apiUrl.replace(/\/+$/, ""), onRight: (a) => a.capabilities.endpoint })
      const port = config.ssh.port ?? 22
      return yield* makeComputeLeaseBackend({
        spec: falSpec,
        chooseMachine: (requested) => {
          const sector = Option.fromNullable(fal.sector)
          return Option.match(requested, {
            onSome: (type) => Either.mapLeft(falMachine(type, sector), (message) => new UsageError({ message: `--type ${type}: ${message}` })),
            onNone: () => Either.mapLeft(falMachine(fal.instanceType ?? DEFAULT_FAL_TYPE, sector), (message) => new ConfigError({
              source: context.sources[fal.sector === undefined ? "fal.instanceType" : "fal.sector"] ?? "default",
              key: fal.sector === undefined ? "fal.instanceType" : "fal.sector",
              message
            }))
          })
        },
        ssh: { user: fal.user ?? "ubuntu", port, workRoot: fal.workRoot ?? "/home/ubuntu/crabbox" },
        selectorFlags: [
          ...(fal.apiUrl === undefined ? [] : ["--fal-api-url", apiUrl]),
          ...(port === 22 ? [] : ["--ssh-port", String(port)])
        ],
        timing: defaultComputeTiming
      }, api, endpoint)
    })
}
