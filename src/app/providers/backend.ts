/**
 * What a provider hands back. Providers configure backends; the core workflows
 * (run, warmup, status, list, stop, cleanup, doctor) own the user-facing flow.
 */
import type { Duration, Effect, Option, Redacted } from "effect"
import type { Claim } from "../../domain/claim.js"
import type { CrabboxError } from "../../domain/errors.js"
import type { LeaseId } from "../../domain/ids.js"
import type { LeaseView, StatusView } from "../../domain/leaseView.js"
import type { ProviderSpec } from "../../domain/provider.js"
import type { HostKey } from "../../domain/sshTarget.js"

/** How to reach a lease over SSH, plus the claim that proves we own it. */
export interface LeaseTarget {
  readonly claim: Claim
  readonly ssh: {
    readonly host: string
    readonly port: number
    readonly user: string
    readonly workRoot: string
    readonly privateKey: Redacted.Redacted<string>
    readonly privateKeyPath: Option.Option<string>
    readonly knownHostsPath: Option.Option<string>
    readonly pinnedHostKey: Option.Option<HostKey>
  }
}

export interface AcquireRequest {
  readonly leaseId: LeaseId
  readonly slug: string
  readonly keep: boolean
  readonly ttl: Duration.Duration
  readonly idleTimeout: Duration.Duration
  readonly repoRoot: string
  readonly serverType: Option.Option<string>
  /**
   * The user chose `slug` (--slug). Otherwise it was generated from `leaseId`, and a
   * provider that names leases after its own resource (freestyle: `fsb_<vm id>`) may
   * allocate a fresh one from that id instead.
   */
  readonly slugRequested?: boolean
}

export interface ResolveRequest {
  /** lease id, slug or provider id */
  readonly id: string
  readonly repoRoot: string
  /** take over a lease claimed by another repo */
  readonly reclaim: boolean
  /** look only: skip the repo binding check and change no claim (status, stop) */
  readonly readOnly?: boolean
}

export interface CleanupOutcome {
  readonly leaseId: string
  readonly slug: string
  readonly cloudId: string | null
  readonly action: "delete" | "skip" | "forget"
  readonly reason: string
  /** what happened: planned (dry run), done, or failed with a message */
  readonly outcome: "planned" | "done" | "failed"
  readonly error?: string
}

export interface DoctorCheck {
  readonly status: "ok" | "skip" | "warning" | "failed" | "missing"
  readonly check: string
  readonly message: string
}

/** Optional capability: delete what this machine's claims prove it owns and is stale. */
export interface CleanupCapability {
  readonly cleanup: (request: { readonly dryRun: boolean }) => Effect.Effect<ReadonlyArray<CleanupOutcome>, CrabboxError>
}

/** Optional capability: read-only readiness checks. */
export interface DoctorCapability {
  readonly doctor: Effect.Effect<ReadonlyArray<DoctorCheck>, never>
}

/** The provider gives an SSH target; the core does readiness, sync, run and release. */
export interface SshLeaseBackend extends Partial<CleanupCapability>, Partial<DoctorCapability> {
  readonly kind: "ssh-lease"
  readonly spec: ProviderSpec
  /** scope string recorded in claims (another configuration sees other claims) */
  readonly providerScope: string
  /** flags that select this configuration again, for the ssh/stop hints printed to users */
  readonly selectorFlags: ReadonlyArray<string>
  /** create/claim a machine, wait until SSH answers, write a ready claim */
  readonly acquire: (request: AcquireRequest) => Effect.Effect<LeaseTarget, CrabboxError>
  readonly resolve: (request: ResolveRequest) => Effect.Effect<LeaseTarget, CrabboxError>
  readonly list: Effect.Effect<ReadonlyArray<LeaseView>, CrabboxError>
  /** give the machine back and forget the claim once that is confirmed */
  readonly release: (target: LeaseTarget) => Effect.Effect<void, CrabboxError>
  /** record use: state and last-used time */
  readonly touch: (target: LeaseTarget, state: "ready" | "running") => Effect.Effect<LeaseTarget, CrabboxError>
}

/** The workspace as one gzipped tar, built by the core (manifest, excludes, guardrails) before any lease. */
export interface SyncArchive {
  readonly bytes: Uint8Array
  /** files and symlinks in it */
  readonly files: number
  /** uncompressed content bytes */
  readonly rawBytes: number
}

export interface DelegatedRunRequest {
  /** a fresh lease (released unless kept) or an existing one */
  readonly lease:
    | { readonly _tag: "New"; readonly acquire: AcquireRequest }
    | { readonly _tag: "Existing"; readonly resolve: ResolveRequest }
  readonly argv: ReadonlyArray<string>
  readonly shell: boolean
  /** forwarded variables, already filtered by the allowlist */
  readonly env: Readonly<Record<string, string>>
  readonly sync: {
    readonly skip: boolean
    readonly only: boolean
    readonly forceLarge: boolean
    /** what to upload; absent when `skip` */
    readonly archive?: SyncArchive
  }
  readonly keepOnFailure: boolean
}

export interface DelegatedRunResult {
  readonly lease: LeaseView
  readonly exitCode: number
  readonly syncMs: number
  readonly commandMs: number
  readonly released: boolean
  /** the remote directory the command ran in (printed by `--sync-only`) */
  readonly workdir?: string
}

/**
 * The provider owns execution and streams output (through the Stdio port); the core
 * still owns claims, slugs, timing and rendering. The core's `run` (workflows/delegatedRun.ts)
 * refuses the options a delegated run cannot honour, builds the archive, then calls
 * `warmup` for a fresh lease, `run` with an `Existing` lease, and `stop` unless the lease
 * is kept: `run` with a `New` lease is for library callers (workflows/delegatedLease.ts
 * implements it over the other three).
 */
export interface DelegatedRunBackend extends Partial<CleanupCapability>, Partial<DoctorCapability> {
  readonly kind: "delegated-run"
  readonly spec: ProviderSpec
  readonly warmup: (request: AcquireRequest) => Effect.Effect<LeaseView, CrabboxError>
  readonly run: (request: DelegatedRunRequest) => Effect.Effect<DelegatedRunResult, CrabboxError>
  readonly list: Effect.Effect<ReadonlyArray<LeaseView>, CrabboxError>
  readonly status: (request: ResolveRequest) => Effect.Effect<StatusView, CrabboxError>
  /** delete the resource and forget the claim; the view of what was released, for the core's report line */
  readonly stop: (request: ResolveRequest) => Effect.Effect<LeaseView | void, CrabboxError>
  /** flags that select this configuration again, for the stop hints printed to users */
  readonly selectorFlags?: ReadonlyArray<string>
  /** largest compressed archive the provider accepts; the core refuses a bigger one before leasing */
  readonly archiveLimitBytes?: number
}

export type Backend = SshLeaseBackend | DelegatedRunBackend
