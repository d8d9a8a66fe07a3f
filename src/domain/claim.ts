/**
 * A claim is the local proof that this machine's crabbox owns a lease. It is versioned
 * so a later crabbox can read (or refuse) an older file instead of guessing.
 */
import { Schema } from "effect"
import { LeaseId } from "./ids.js"

export const ClaimState = Schema.Literal(
  /** written before the provider call whose outcome might be lost */
  "create-intent",
  /** the provider accepted the create; not yet reachable */
  "provisioning",
  /** reachable and usable */
  "ready",
  /** a command is running on it */
  "running",
  /** a delete was sent; forget only once absence is confirmed */
  "releasing",
  /** acquire or release failed halfway; `stop`/`cleanup` must finish it */
  "recovery"
)
export type ClaimState = typeof ClaimState.Type

export const ClaimSsh = Schema.Struct({
  host: Schema.String,
  port: Schema.Number,
  user: Schema.String,
  workRoot: Schema.String
})
export type ClaimSsh = typeof ClaimSsh.Type

export const CLAIM_VERSION = 1 as const

export const Claim = Schema.Struct({
  version: Schema.Literal(CLAIM_VERSION),
  leaseId: LeaseId,
  slug: Schema.String,
  /** canonical provider name (aliases resolved) */
  provider: Schema.String,
  /** ties the claim to one provider configuration, e.g. `host:user@h:22` or `endpoint:<url>` */
  providerScope: Schema.String,
  /** the provider's own id for the resource, once known */
  cloudId: Schema.optional(Schema.String),
  state: ClaimState,
  repoRoot: Schema.String,
  /** RFC 3339 UTC; the lease's age counts from here (the start of the create request) */
  createdAt: Schema.String,
  claimedAt: Schema.String,
  lastUsedAt: Schema.String,
  ttlSeconds: Schema.Number,
  idleTimeoutSeconds: Schema.Number,
  keep: Schema.Boolean,
  ssh: Schema.optional(ClaimSsh),
  /** provider metadata; never secrets */
  labels: Schema.Record({ key: Schema.String, value: Schema.String })
})
export type Claim = typeof Claim.Type

/** The claim as stored on disk: JSON text in, validated Claim out. */
export const ClaimJson = Schema.parseJson(Claim)

const allowed: Record<ClaimState, ReadonlyArray<ClaimState>> = {
  "create-intent": ["provisioning", "ready", "releasing", "recovery"],
  provisioning: ["ready", "releasing", "recovery"],
  ready: ["ready", "running", "releasing", "recovery"],
  running: ["ready", "running", "releasing", "recovery"],
  releasing: ["releasing", "recovery"],
  recovery: ["releasing", "recovery", "ready"]
}

/** Whether the claim state machine allows `from -> to`. */
export const canTransition = (from: ClaimState, to: ClaimState): boolean => allowed[from].includes(to)

/** States in which a lease can run commands. */
export const isUsable = (state: ClaimState): boolean => state === "ready" || state === "running"
