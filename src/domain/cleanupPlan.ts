/**
 * What `cleanup` does with each local claim. Only a claim is proof of ownership, so the
 * plan is built from claims alone; provider inventory only says whether the resource
 * still exists. Claims of another provider or scope are not ours to judge: they are
 * left out of the plan entirely.
 */
import { Option } from "effect"
import type { Claim } from "./claim.js"
import type { LeaseId } from "./ids.js"
import { expiresAt, parseRfc3339 } from "./leaseTiming.js"

/** What the provider says about a claim's resource. `unknown`: no answer, or no cloud id yet. */
export type LiveState = "present" | "absent" | "unknown"

export type CleanupAction =
  /** delete the remote resource (then forget the claim once absence is confirmed) */
  | "delete"
  /** leave claim and resource alone */
  | "skip"
  /** the resource is confirmed gone: remove the claim only */
  | "forget"

export type CleanupReason =
  /** the claim says keep (`--keep`, warmup) */
  | "keep"
  /** a create may still be in flight; deleting now could race it */
  | "acquire-in-progress"
  /** a create-intent older than the acquire window: that acquire died */
  | "stale-create-intent"
  /** still provisioning after the acquire window: that acquire died mid-way */
  | "stale-provisioning"
  /** forced: an acquire or release failed halfway */
  | "recovery"
  /** forced: a delete was already sent */
  | "releasing"
  /** the resource is gone; only the claim is left */
  | "absent"
  /** idle timeout passed (`lastUsedAt + idleTimeout`) */
  | "idle"
  /** TTL passed (`createdAt + ttl`) */
  | "ttl"
  | "not-expired"
  /** expired, but a command may still be running or the box still starting */
  | "grace"
  /** timestamps that do not parse: the expiry is unknown, so nothing is deleted */
  | "invalid-timestamps"

export interface CleanupDecision {
  readonly claim: Claim
  readonly action: CleanupAction
  readonly reason: CleanupReason
}

export interface CleanupInput {
  readonly claims: ReadonlyArray<Claim>
  /** Live state per lease; a lease missing here counts as `unknown`. */
  readonly live: ReadonlyMap<LeaseId, LiveState>
  readonly nowMs: number
  readonly provider: string
  readonly providerScope: string
}

/**
 * How long a create-intent or provisioning claim may belong to a live acquire: longer than
 * the longest acquire (create 2 min + ready 10 min + SSH 4 min), so no live one is judged dead.
 */
export const ACQUIRE_WINDOW_MS = 20 * 60 * 1000

/** Label a backend sets when `--keep` kept the machine of a failed acquire: keep still protects it. */
export const ACQUIRE_FAILED_LABEL = "acquire_failed"

/**
 * Extra time before an expired `running`/`provisioning` lease is deleted: a long command
 * outlives its idle timeout because nothing touches the lease while it runs.
 */
export const BUSY_GRACE_MS = 12 * 60 * 60 * 1000

const decision = (claim: Claim, action: CleanupAction, reason: CleanupReason): CleanupDecision => ({
  claim,
  action,
  reason
})

/** The create started less than ACQUIRE_WINDOW ago; None when `createdAt` does not parse. */
const inAcquireWindow = (claim: Claim, nowMs: number): Option.Option<boolean> =>
  Option.map(parseRfc3339(claim.createdAt), (createdMs) => nowMs - createdMs < ACQUIRE_WINDOW_MS)

/** Rules in order; the first that applies decides. */
const decide = (claim: Claim, live: LiveState, nowMs: number): CleanupDecision => {
  // Forced states bypass keep, TTL and idle: the lease is already on its way out.
  if (claim.state === "recovery" || claim.state === "releasing") {
    return live === "absent" ? decision(claim, "forget", "absent") : decision(claim, "delete", claim.state)
  }
  // While a create may be in flight, even "absent" is not proof: the resource may not be listed yet.
  if (claim.state === "create-intent" || claim.state === "provisioning") {
    const young = inAcquireWindow(claim, nowMs)
    if (Option.isNone(young)) return decision(claim, "skip", "invalid-timestamps")
    if (young.value) return decision(claim, "skip", "acquire-in-progress")
    // A dead acquire is cleaned even under keep (warmup keeps by default), or it would never be.
    if (claim.state === "create-intent") {
      return live === "absent" ? decision(claim, "forget", "absent") : decision(claim, "delete", "stale-create-intent")
    }
    if (claim.labels[ACQUIRE_FAILED_LABEL] !== "true") {
      return live === "absent" ? decision(claim, "forget", "absent") : decision(claim, "delete", "stale-provisioning")
    }
  }
  // keep protects the machine; once the machine is confirmed gone the claim protects nothing.
  if (live === "absent") return decision(claim, "forget", "absent")
  if (claim.keep) return decision(claim, "skip", "keep")
  const expiry = expiresAt(claim)
  if (Option.isNone(expiry)) return decision(claim, "skip", "invalid-timestamps")
  const { atMs, bound } = expiry.value
  if (nowMs < atMs) return decision(claim, "skip", "not-expired")
  const busy = claim.state === "running" || claim.state === "provisioning"
  if (busy && nowMs < atMs + BUSY_GRACE_MS) return decision(claim, "skip", "grace")
  return decision(claim, "delete", bound)
}

/**
 * One decision per claim of this provider and scope, in input order. Pure: the caller
 * re-checks each claim (compare-and-swap) before acting on a delete or forget.
 */
export const planCleanup = (input: CleanupInput): ReadonlyArray<CleanupDecision> =>
  input.claims
    .filter((claim) => claim.provider === input.provider && claim.providerScope === input.providerScope)
    .map((claim) => decide(claim, input.live.get(claim.leaseId) ?? "unknown", input.nowMs))
