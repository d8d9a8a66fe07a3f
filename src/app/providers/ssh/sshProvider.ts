/** The `ssh` provider: any existing host you can already reach with a key. */
import { Config, Effect, Option } from "effect"
import type { CrabboxConfig } from "../../config/schema.js"
import type { ProviderModule, ProviderServices } from "../registry.js"
import { staticSshSpec } from "./spec.js"
import { makeStaticSshBackend } from "./StaticSshBackend.js"

const localDefaults = Effect.all({
  user: Config.string("USER").pipe(Config.orElse(() => Config.string("LOGNAME")), Config.withDefault("crabbox")),
  home: Config.string("HOME").pipe(Config.withDefault("/root"))
}).pipe(Effect.orDie)

export const sshProvider: ProviderModule<ProviderServices> = {
  spec: staticSshSpec,
  flags: ["workRoot", "ssh-host", "ssh-port", "ssh-user", "ssh-key", "ssh-work-root"],
  configure: (config: CrabboxConfig) =>
    Effect.gen(function* () {
      const local = yield* localDefaults
      const ssh = config.ssh
      return yield* makeStaticSshBackend({
        host: Option.fromNullable(ssh.host),
        port: ssh.port ?? 22,
        // like OpenSSH: the local user name unless configured
        user: ssh.user ?? local.user,
        keyPath: ssh.key ?? `${local.home}/.ssh/id_ed25519`,
        workRoot: ssh.workRoot ?? config.workRoot
      })
    })
}
