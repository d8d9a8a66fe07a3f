import type { Effect, Scope } from "effect"
import { Context } from "effect"
import type { RemoteSetupFailed } from "../../domain/errors.js"

export interface EmulatedSshHost {
  readonly host: string
  readonly port: number
  /** private key file the emulated host authorizes (0600, removed with the scope) */
  readonly keyPath: string
  readonly workRoot: string
}

/**
 * A throwaway SSH host inside this process, on 127.0.0.1, for `--emulator`: the whole
 * flow runs for real with no account and no OpenSSH server. The entry point provides it.
 */
export class SshEmulator extends Context.Tag("crabbox/SshEmulator")<SshEmulator, {
  readonly start: Effect.Effect<EmulatedSshHost, RemoteSetupFailed, Scope.Scope>
}>() {}
