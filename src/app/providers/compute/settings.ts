/** What a ComputeLeaseBackend needs besides its ports: the provider's defaults and the timings. */
import type { Duration, Either, Option } from "effect"
import type { ConfigError, UsageError } from "../../../domain/errors.js"
import type { ProviderSpec } from "../../../domain/provider.js"

export interface MachineChoice {
  /** API value, e.g. `gpu_1x_h100_sxm5` */
  readonly instanceType: string
  readonly sector: Option.Option<string>
}

export interface ComputeTiming {
  /** readiness poll spacing (fal: 3 s) */
  readonly pollInterval: Duration.DurationInput
  /** give up waiting for `ready` after this (fal: 10 min) */
  readonly readyTimeout: Duration.DurationInput
  /** then give up waiting for SSH after this */
  readonly sshTimeout: Duration.DurationInput
  /** print a progress line at least this often while waiting */
  readonly progressEvery: Duration.DurationInput
  /** replays of an ambiguous create (same key, same request) and their spacing */
  readonly createReplays: number
  readonly replaySpacing: Duration.DurationInput
  /** replays only while the create started less than this ago (inside the API's idempotency window) */
  readonly replayWindow: Duration.DurationInput
  /** confirming absence after a delete: spacing and limit */
  readonly confirmInterval: Duration.DurationInput
  readonly confirmTimeout: Duration.DurationInput
}

export const defaultComputeTiming: ComputeTiming = {
  pollInterval: "3 seconds",
  readyTimeout: "10 minutes",
  sshTimeout: "4 minutes",
  progressEvery: "15 seconds",
  createReplays: 3,
  replaySpacing: "1 second",
  replayWindow: "9 minutes",
  confirmInterval: "3 seconds",
  confirmTimeout: "30 seconds"
}

export interface ComputeLeaseSettings {
  readonly spec: ProviderSpec
  /**
   * The machine for a new lease: `--type` when given, else the configured type, with the
   * configured sector. Checked at acquire (before any call), so a setting that only
   * matters for new machines never blocks list, stop or cleanup.
   */
  readonly chooseMachine: (requested: Option.Option<string>) => Either.Either<MachineChoice, UsageError | ConfigError>
  readonly ssh: { readonly user: string; readonly port: number; readonly workRoot: string }
  /** flags that select this configuration again (printed in hints) */
  readonly selectorFlags: ReadonlyArray<string>
  readonly timing: ComputeTiming
}
