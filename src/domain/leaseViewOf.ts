/**
 * The LeaseView of a claim, optionally refreshed with what the provider reports live.
 * Claim-only labels (credential bindings, delete markers with tokens) never leave here.
 */
import { Option } from "effect"
import type { Claim } from "./claim.js"
import { expiresAt } from "./leaseTiming.js"
import type { LeaseView } from "./leaseView.js"

/** What a provider said about the resource just now; each field wins over the claim's. */
export interface LiveLease {
  readonly status?: string | undefined
  readonly host?: string | undefined
  readonly serverType?: string | undefined
}

/** Shown as `expiresAt` when the claim's timestamps cannot be read. */
export const UNKNOWN_EXPIRY = "unknown"

/** Used when the claim has no `target` label; the core default target. */
const DEFAULT_TARGET = "linux"

/** Label names that may hold or derive from a credential; such labels stay in the claim. */
const PRIVATE_LABEL = /credential|binding|token|secret/i

/** The labels a view may show. */
export const publicLabels = (labels: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(labels).filter(([name]) => !PRIVATE_LABEL.test(name)))

/** An empty string from a provider says nothing, so it does not hide the claim's value. */
const given = (value: string | undefined): string | undefined =>
  value === undefined || value === "" ? undefined : value

export const leaseViewOf = (claim: Claim, live?: LiveLease): LeaseView => ({
  leaseId: claim.leaseId,
  slug: claim.slug,
  provider: claim.provider,
  cloudId: claim.cloudId ?? null,
  status: given(live?.status) ?? claim.state,
  serverType: given(live?.serverType) ?? given(claim.labels["server_type"]) ?? null,
  host: given(live?.host) ?? given(claim.ssh?.host) ?? null,
  keep: claim.keep,
  target: given(claim.labels["target"]) ?? DEFAULT_TARGET,
  repoRoot: claim.repoRoot,
  createdAt: claim.createdAt,
  lastUsedAt: claim.lastUsedAt,
  expiresAt: Option.match(expiresAt(claim), { onNone: () => UNKNOWN_EXPIRY, onSome: (expiry) => expiry.at }),
  labels: publicLabels(claim.labels)
})
