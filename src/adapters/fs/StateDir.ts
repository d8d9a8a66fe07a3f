/**
 * The root of crabbox's durable local state, and where each kind of file lives under it:
 *
 *   claims/<leaseId>.json                      one claim per lease
 *   claim-locks/<leaseId>.lock                 target of the lease's cross-process lock
 *   keys/<leaseId>/{id_ed25519,id_ed25519.pub,known_hosts}
 *
 * Unlike the Go crabbox, per-lease keys live under the state dir rather than the config
 * dir, so one override (CRABBOX_STATE_DIR) isolates everything a run writes: a test or a
 * second installation cannot touch the user's keys by accident.
 */
import { Config, Context, Effect, Layer, Option } from "effect"
import { isAbsolute, join, normalize } from "node:path"
import { ConfigError } from "../../domain/errors.js"
import type { LeaseId } from "../../domain/ids.js"

export class StateDir extends Context.Tag("crabbox/StateDir")<StateDir, { readonly root: string }>() {}

/** A fixed root (tests, embedding). */
export const layer = (root: string): Layer.Layer<StateDir> => Layer.succeed(StateDir, StateDir.of({ root }))

// An empty variable counts as unset, as the XDG spec asks, so `CRABBOX_STATE_DIR= crabbox ...`
// falls back instead of failing.
const nonEmpty = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((value) => value !== "")))

const fromEnvironment = Effect.gen(function* () {
  const env = yield* Config.all({
    override: nonEmpty("CRABBOX_STATE_DIR"),
    xdg: nonEmpty("XDG_STATE_HOME"),
    home: nonEmpty("HOME")
  }).pipe(Effect.mapError((e) =>
    new ConfigError({ source: "environment", key: "CRABBOX_STATE_DIR", message: `cannot read the environment: ${e}` })))
  if (Option.isSome(env.override)) {
    // A relative override would move with the working directory and split state between
    // repos; refuse it rather than guess what it is relative to.
    if (!isAbsolute(env.override.value)) {
      return yield* new ConfigError({
        source: "environment",
        key: "CRABBOX_STATE_DIR",
        message: `must be an absolute path, got "${env.override.value}"`
      })
    }
    return normalize(env.override.value)
  }
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  if (Option.isSome(env.xdg) && isAbsolute(env.xdg.value)) return join(env.xdg.value, "crabbox")
  if (Option.isSome(env.home)) return join(env.home.value, ".local", "state", "crabbox")
  return yield* new ConfigError({
    source: "environment",
    key: "CRABBOX_STATE_DIR",
    message: "set CRABBOX_STATE_DIR, XDG_STATE_HOME or HOME to choose where crabbox keeps its state"
  })
})

/** CRABBOX_STATE_DIR, else $XDG_STATE_HOME/crabbox, else $HOME/.local/state/crabbox. */
export const layerFromEnv: Layer.Layer<StateDir, ConfigError> = Layer.effect(
  StateDir,
  Effect.map(fromEnvironment, (root) => StateDir.of({ root }))
)

export const claimsDir = (root: string): string => join(root, "claims")
export const claimFile = (root: string, id: LeaseId): string => join(claimsDir(root), `${id}.json`)
export const claimLocksDir = (root: string): string => join(root, "claim-locks")
export const claimLockFile = (root: string, id: LeaseId): string => join(claimLocksDir(root), `${id}.lock`)
export const keysDir = (root: string): string => join(root, "keys")
export const leaseKeyDir = (root: string, id: LeaseId): string => join(keysDir(root), id)
