/**
 * Providers register here by name and aliases. A provider module is data plus one
 * `configure` that turns the merged config into a backend.
 */
import type { Effect } from "effect"
import { Either } from "effect"
import { UnknownProvider } from "../../domain/errors.js"
import type { CrabboxError } from "../../domain/errors.js"
import type { ProviderSpec } from "../../domain/provider.js"
import type { Backend } from "./backend.js"

/** Flags every provider honours; the rest belong to one provider or another. */
export const CORE_FLAGS = ["provider", "target", "ttl", "idleTimeout", "allow-env", "force-sync-large"] as const

export type ProviderFlagName = Exclude<keyof import("../config/flagLayer.js").FlagValues, typeof CORE_FLAGS[number]>

/** The services built-in providers capture when configured (all ports, no adapters). */
export type ProviderServices =
  | import("../../ports/ClaimStore.js").ClaimStore
  | import("../../ports/KeyStore.js").KeyStore
  | import("../../ports/SshTransport.js").SshTransport
  | import("@effect/platform").FileSystem.FileSystem
  | import("../../ports/ComputeApi.js").ComputeClouds
  | import("../../ports/FreestyleApi.js").FreestyleApis
  | import("../../ports/ModalClient.js").ModalClients
  | import("../../ports/Stdio.js").Stdio

/** Where each config value came from, for rules like "a repo file may not choose where a key is sent". */
export interface ConfigureContext {
  readonly origins: Readonly<Record<string, import("../config/layers.js").Origin>>
  readonly sources: Readonly<Record<string, string>>
}

export interface ProviderModule<R = never> {
  readonly spec: ProviderSpec
  /**
   * The provider-specific flags it honours (names as in the flag table). Any other
   * provider's flag given on the command line is refused, never silently ignored.
   */
  readonly flags: ReadonlyArray<ProviderFlagName>
  /** Build the backend from the merged config; services it needs are captured here. */
  readonly configure: (
    config: import("../config/schema.js").CrabboxConfig,
    context: ConfigureContext
  ) => Effect.Effect<Backend, CrabboxError, R>
}

export interface ProviderRegistry<R = never> {
  readonly providers: ReadonlyArray<ProviderModule<R>>
}

export const makeRegistry = <R>(providers: ReadonlyArray<ProviderModule<R>>): ProviderRegistry<R> => {
  const seen = new Set<string>()
  for (const p of providers) {
    for (const name of [p.spec.name, ...p.spec.aliases]) {
      if (seen.has(name)) throw new Error(`provider name registered twice: ${name}`)
      seen.add(name)
    }
  }
  return { providers }
}

/** Find a provider by canonical name or alias (case-insensitive). */
export const lookupProvider = <R>(
  registry: ProviderRegistry<R>,
  name: string
): Either.Either<ProviderModule<R>, UnknownProvider> => {
  const wanted = name.trim().toLowerCase()
  const found = registry.providers.find((p) => p.spec.name === wanted || p.spec.aliases.includes(wanted))
  return found
    ? Either.right(found)
    : Either.left(new UnknownProvider({ name, known: registry.providers.map((p) => p.spec.name) }))
}
