/**
 * A fake fal Compute API on 127.0.0.1 whose instances answer SSH for real: `crabbox emulator
 * fal` serves one, `crabbox run --provider fal --emulator` starts one in-process, tests drive
 * it. Only the contract lives here; the entry point provides the implementation
 * (src/emulator/fal), so nothing in src/app depends on it.
 */
import type { Duration, Effect, Either, Redacted, Scope } from "effect"
import { Context } from "effect"
import type { RemoteSetupFailed } from "../../domain/errors.js"
import type { HostKey } from "../../domain/sshTarget.js"

/** The four Compute operations, as faults and request records name them. */
export type FalOperation = "list" | "get" | "create" | "delete"

/**
 * One injected misbehaviour. Counted faults are used up one request at a time; the others
 * hold until cleared. The text syntax (`--fault`, `POST /_emulator/faults`) is described in
 * src/emulator/fal/faults.ts.
 */
export type FalFault =
  /** the next `count` successful create responses are lost as a 500: the instance exists all the same */
  | { readonly kind: "lose-create"; readonly count: number }
  /** as lose-create, but the connection is dropped with no response at all */
  | { readonly kind: "drop-create"; readonly count: number }
  /** the next `count` deletes delete, then answer 500 */
  | { readonly kind: "lose-delete"; readonly count: number }
  /** the next `count` calls of `operation` answer `status` and do nothing (429 and 503 carry Retry-After) */
  | {
    readonly kind: "fail"
    readonly operation: FalOperation
    readonly status: number
    readonly count: number
    readonly retryAfterSeconds?: number
  }
  /** instances created from now on stay `provisioning` */
  | { readonly kind: "never-ready" }
  /** instances created from now on go `stopped`: `after` their readiness (zero: instead of it) */
  | { readonly kind: "stopped"; readonly after: Duration.Duration }
  /** every new SSH connection is held this long before the handshake */
  | { readonly kind: "slow-ssh"; readonly delay: Duration.Duration }

/** What was asked of the API, minus the key: request-shape tests assert on these. */
export interface FalRecordedRequest {
  /** Clock time of arrival, in ms */
  readonly at: number
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly operation: FalOperation | "unknown"
  /** lower-case names of the headers present */
  readonly headers: ReadonlyArray<string>
  /** `key`: `Authorization: Key <non-empty>`; `other`: present in another form */
  readonly authorization: "key" | "other" | "absent"
  /** the key form was right and (when the emulator has one configured) the key matched */
  readonly authorized: boolean
  readonly idempotencyKey?: string
  readonly contentType?: string
  readonly accept?: string
  /** the parsed JSON body, or its text when it is not JSON; absent when empty */
  readonly body?: unknown
  /** the status answered, or `dropped` when the connection was cut (drop-create) */
  readonly status: number | "dropped"
  /** `error.request_id` of the answer, for error answers */
  readonly requestId?: string
}

/** Every instance the emulator ever created, deleted ones included (residue checks). */
export interface FalEmulatedInstance {
  readonly id: string
  readonly instanceType: string
  readonly region: string
  readonly sector?: string
  /** fal's status now (`provisioning`, `ready`, `stopped`); a deleted instance keeps its last one */
  readonly status: string
  readonly deleted: boolean
  /** Clock times in ms */
  readonly createdAt: number
  readonly deletedAt?: number
  /** the real directory behind the instance's `/home/ubuntu` (removed on delete) */
  readonly home: string
}

export interface FalEmulatorOptions {
  /** HTTP port on 127.0.0.1; 0 or absent: a free one */
  readonly port?: number
  /** the SSH port every instance shares; 0 or absent: a free one */
  readonly sshPort?: number
  /** provisioning -> ready after this long (default 1 second), on the Effect Clock */
  readonly readyDelay?: Duration.DurationInput
  /** how long an Idempotency-Key replays its create (fal: 10 minutes, the default) */
  readonly idempotencyWindow?: Duration.DurationInput
  /** when set, only `Authorization: Key <this>` is accepted; otherwise any non-empty key */
  readonly apiKey?: Redacted.Redacted<string>
  readonly faults?: ReadonlyArray<FalFault>
  /** `creator_user_nickname` of every instance (default `crabbox-emulator`) */
  readonly nickname?: string
  /** called once per API request after it is answered (the CLI prints a line) */
  readonly onRequest?: (request: FalRecordedRequest) => Effect.Effect<void>
}

export interface RunningFalEmulator {
  /** `http://127.0.0.1:PORT/v1`: CRABBOX_FAL_API_URL */
  readonly apiUrl: string
  /** `http://127.0.0.1:PORT/_emulator`: instances, faults, requests */
  readonly adminUrl: string
  readonly sshHost: "127.0.0.1"
  /** CRABBOX_SSH_PORT: one SSH server for every instance, the login's key picks the instance */
  readonly sshPort: number
  readonly sshHostKey: HostKey
  /** the emulator's temp dir; removed with the scope */
  readonly root: string
  /**
   * `/home/ubuntu`. In each instance's commands this absolute path means that instance's
   * own home dir, so crabbox's default work root `/home/ubuntu/crabbox` works unchanged
   * and two instances never share files.
   */
  readonly virtualHome: string
  /** the real dir behind `virtualHome` for an instance id */
  readonly homeFor: (id: string) => string
  /** the real dir behind `/home/ubuntu/crabbox` for an instance id */
  readonly workRootFor: (id: string) => string
  readonly instances: Effect.Effect<ReadonlyArray<FalEmulatedInstance>>
  readonly requests: Effect.Effect<ReadonlyArray<FalRecordedRequest>>
  /** the faults still in force (used-up counts are gone) */
  readonly faults: Effect.Effect<ReadonlyArray<FalFault>>
  readonly addFaults: (faults: ReadonlyArray<FalFault>) => Effect.Effect<void>
  readonly clearFaults: Effect.Effect<void>
  /** turn a live instance `stopped` now (its SSH sessions end); false when there is none */
  readonly stopInstance: (id: string) => Effect.Effect<boolean>
}

export class FalEmulator extends Context.Tag("crabbox/FalEmulator")<FalEmulator, {
  readonly start: (options: FalEmulatorOptions) => Effect.Effect<RunningFalEmulator, RemoteSetupFailed, Scope.Scope>
  /** `fail:get:503:2` -> a fault, or why the text is not one */
  readonly parseFault: (text: string) => Either.Either<FalFault, string>
  /** a fault in the syntax parseFault reads */
  readonly formatFault: (fault: FalFault) => string
}>() {}
