import { Effect, Option } from "effect"
import { UsageError } from "../../domain/errors.js"
import type { ProviderOptionValues } from "./options.js"
import { SshEmulator } from "./sshEmulator.js"

/** `--emulator`: start the in-process SSH host and point the ssh provider's flags at it. */
export const emulatedProviderFlags = (o: ProviderOptionValues) =>
  Effect.gen(function* () {
    const provider = Option.getOrElse(o.provider, () => "ssh")
    if (provider !== "ssh") {
      return yield* new UsageError({
        message: `--emulator works with --provider ssh (got ${JSON.stringify(provider)})`,
        hint: "crabbox run --provider ssh --emulator -- <command>"
      })
    }
    const host = yield* (yield* SshEmulator).start
    return {
      ...o,
      provider: Option.some("ssh"),
      sshHost: Option.some(host.host),
      sshPort: Option.some(String(host.port)),
      sshKey: Option.some(host.keyPath),
      sshWorkRoot: Option.some(host.workRoot)
    } satisfies ProviderOptionValues
  })
