/**
 * Every failure crabbox can report, as data. Errors never carry secrets; the CLI maps
 * each tag to one exit code and one line (src/app/cli/exitCodes.ts).
 */
import { Schema } from "effect"

/** Bad input on the command line (unknown value, conflicting flags, missing argument). Exit 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String,
  hint: Schema.optional(Schema.String)
}) {}

/** A configuration value is invalid. `source` names the file, env var or flag. Exit 2. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  source: Schema.String,
  key: Schema.String,
  message: Schema.String,
  line: Schema.optional(Schema.Number)
}) {}

/** No provider registered under that name or alias. Exit 2. */
export class UnknownProvider extends Schema.TaggedError<UnknownProvider>()("UnknownProvider", {
  name: Schema.String,
  known: Schema.Array(Schema.String)
}) {}

/** The provider cannot honour an option or command. Exit 2. */
export class UnsupportedFeature extends Schema.TaggedError<UnsupportedFeature>()("UnsupportedFeature", {
  provider: Schema.String,
  feature: Schema.String,
  message: Schema.String
}) {}

/** A credential or prerequisite is missing (names the variable, never a value). Exit 3. */
export class CredentialsMissing extends Schema.TaggedError<CredentialsMissing>()("CredentialsMissing", {
  provider: Schema.String,
  message: Schema.String
}) {}

/** No local claim matches the identifier. Exit 4. */
export class LeaseNotFound extends Schema.TaggedError<LeaseNotFound>()("LeaseNotFound", {
  provider: Schema.String,
  id: Schema.String
}) {}

/** The lease exists but its state forbids the action. Exit 4. */
export class LeaseStateConflict extends Schema.TaggedError<LeaseStateConflict>()("LeaseStateConflict", {
  leaseId: Schema.String,
  state: Schema.String,
  message: Schema.String
}) {}

/** The lease is claimed by another repository. Exit 2. */
export class ClaimedByOtherRepo extends Schema.TaggedError<ClaimedByOtherRepo>()("ClaimedByOtherRepo", {
  leaseId: Schema.String,
  repo: Schema.String,
  requestingRepo: Schema.String
}) {}

/** A compare-and-swap on a claim found a different claim than expected. Exit 2. */
export class ClaimChanged extends Schema.TaggedError<ClaimChanged>()("ClaimChanged", {
  leaseId: Schema.String
}) {}

/** The claim store could not read or write. Exit 1. */
export class ClaimStoreError extends Schema.TaggedError<ClaimStoreError>()("ClaimStoreError", {
  operation: Schema.String,
  path: Schema.String,
  message: Schema.String
}) {}

/** The key store could not read, write or generate a key. Exit 1. */
export class KeyStoreError extends Schema.TaggedError<KeyStoreError>()("KeyStoreError", {
  operation: Schema.String,
  path: Schema.String,
  message: Schema.String
}) {}

/** The workspace (git, file reads) could not be listed or read. Exit 6. */
export class WorkspaceError extends Schema.TaggedError<WorkspaceError>()("WorkspaceError", {
  message: Schema.String,
  path: Schema.optional(Schema.String)
}) {}

/** Sync failed: remote tar, manifest, escaping path. Exit 6. */
export class SyncError extends Schema.TaggedError<SyncError>()("SyncError", {
  message: Schema.String
}) {}

/** The sync set is over the guardrail and `--force-sync-large` was not given. Exit 6. */
export class SyncTooLarge extends Schema.TaggedError<SyncTooLarge>()("SyncTooLarge", {
  files: Schema.Number,
  bytes: Schema.Number,
  message: Schema.String
}) {}

/** SSH transport failure. `kind` tells connect/auth/timeout apart. Exit 7. */
export class SshError extends Schema.TaggedError<SshError>()("SshError", {
  kind: Schema.Literal("connect", "auth", "timeout", "channel", "closed", "protocol"),
  host: Schema.String,
  port: Schema.Number,
  message: Schema.String
}) {}

/** The host presented a key different from the one pinned for this lease. Exit 7. */
export class HostKeyMismatch extends Schema.TaggedError<HostKeyMismatch>()("HostKeyMismatch", {
  host: Schema.String,
  port: Schema.Number,
  expected: Schema.String,
  actual: Schema.String
}) {}

/** Waiting for a lease (instance, SSH) ran out of time or hit a terminal state. Exit 5. */
export class ReadinessTimedOut extends Schema.TaggedError<ReadinessTimedOut>()("ReadinessTimedOut", {
  leaseId: Schema.String,
  message: Schema.String
}) {}

/** A remote setup step (mkdir workdir, probe) failed. Exit 7. */
export class RemoteSetupFailed extends Schema.TaggedError<RemoteSetupFailed>()("RemoteSetupFailed", {
  message: Schema.String
}) {}

/** Releasing a lease after a successful run failed. Exit 7. */
export class LeaseCleanupFailed extends Schema.TaggedError<LeaseCleanupFailed>()("LeaseCleanupFailed", {
  leaseId: Schema.String,
  message: Schema.String
}) {}

/** A provider call failed in a way no more specific error describes. Exit 1. */
export class ProviderError extends Schema.TaggedError<ProviderError>()("ProviderError", {
  provider: Schema.String,
  message: Schema.String
}) {}

/**
 * A compute cloud API call failed. `kind` classifies it (see computeErrors.ts for which kinds
 * are ambiguous for a create); `status`/`requestId` come from the response, never the key.
 * Exit 3 for auth/permission, 2 for validation, 1 otherwise.
 */
export class ComputeApiError extends Schema.TaggedError<ComputeApiError>()("ComputeApiError", {
  provider: Schema.String,
  operation: Schema.Literal("create", "get", "list", "delete"),
  kind: Schema.Literal(
    "auth", "permission", "not-found", "rate-limited", "quota", "capacity", "validation",
    "conflict", "server", "not-implemented", "timeout", "transport", "decode", "redirect", "too-large", "http"
  ),
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  requestId: Schema.optional(Schema.String),
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

/** The instance reached a state it cannot become ready from (fal `stopped`, an unknown status). Exit 5. */
export class ReadinessFailed extends Schema.TaggedError<ReadinessFailed>()("ReadinessFailed", {
  leaseId: Schema.String,
  message: Schema.String
}) {}

/** The remote command finished with a non-zero exit code; `run` exits with it. */
export class RemoteCommandExit extends Schema.TaggedError<RemoteCommandExit>()("RemoteCommandExit", {
  code: Schema.Number
}) {}

/** Doctor found at least one failed check. Exit 1. */
export class DoctorFailed extends Schema.TaggedError<DoctorFailed>()("DoctorFailed", {
  failed: Schema.Number
}) {}

export type CrabboxError =
  | UsageError | ConfigError | UnknownProvider | UnsupportedFeature | CredentialsMissing
  | LeaseNotFound | LeaseStateConflict | ClaimedByOtherRepo | ClaimChanged | ClaimStoreError
  | KeyStoreError | WorkspaceError | SyncError | SyncTooLarge | SshError | HostKeyMismatch
  | ReadinessTimedOut | RemoteSetupFailed | LeaseCleanupFailed | ProviderError | RemoteCommandExit
  | DoctorFailed | ComputeApiError | ReadinessFailed
