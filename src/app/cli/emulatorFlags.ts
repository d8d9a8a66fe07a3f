import { ConfigProvider, Effect, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { UsageError } from "../../domain/errors.js"
import { FalEmulator } from "./falEmulator.js"
import type { ProviderOptionValues } from "./options.js"
import { SshEmulator } from "./sshEmulator.js"

export interface EmulatedProvider {
  /** the provider flags, pointed at the emulator */
  readonly flags: ProviderOptionValues
  /** run config loading with the emulator's own credential (a throwaway key, never yours) */
  readonly withCredentials: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

const EMULATED = ["ssh", "fal", "fal-ai"]

/**
 * `--emulator`: start an in-process stand-in for the provider (a throwaway SSH host for
 * `ssh`, the fal Compute emulator for `fal`) on 127.0.0.1, for the scope of the command.
 */
export const emulatedProvider = (o: ProviderOptionValues) =>
  Effect.gen(function* () {
    const provider = Option.getOrElse(o.provider, () => "ssh").trim().toLowerCase()
    if (!EMULATED.includes(provider)) {
      return yield* new UsageError({
        message: `--emulator works with --provider ssh or --provider fal (got ${JSON.stringify(provider)})`,
        hint: "crabbox run --provider fal --emulator -- <command>"
      })
    }
    if (provider === "ssh") {
      const host = yield* (yield* SshEmulator).start
      return {
        flags: {
          ...o,
          provider: Option.some("ssh"),
          sshHost: Option.some(host.host),
          sshPort: Option.some(String(host.port)),
          sshKey: Option.some(host.keyPath),
          sshWorkRoot: Option.some(host.workRoot)
        },
        withCredentials: (effect) => effect
      } satisfies EmulatedProvider
    }
    const key = Redacted.make(`emulator-${randomBytes(12).toString("hex")}`)
    const fal = yield* (yield* FalEmulator).start({ apiKey: key })
    const credentials = ConfigProvider.fromMap(new Map([["CRABBOX_FAL_KEY", Redacted.value(key)]])).pipe(
      ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
    return {
      flags: {
        ...o,
        provider: Option.some("fal"),
        falApiUrl: Option.some(fal.apiUrl),
        sshPort: Option.some(String(fal.sshPort))
      },
      withCredentials: (effect) => Effect.withConfigProvider(effect, credentials)
    } satisfies EmulatedProvider
  })
