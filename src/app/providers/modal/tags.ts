/**
 * What crabbox writes on a sandbox at create: the ownership tags that `list`, `stop` and
 * `--id <sandbox id>` check, and the lifetime Modal enforces.
 */
import { Duration } from "effect"

/** A sandbox carrying both is crabbox's; nothing else is ever stopped or adopted. */
export const OWNERSHIP_TAGS = { crabbox: "true", provider: "modal" } as const

export const isCrabboxSandbox = (tags: Readonly<Record<string, string>>): boolean =>
  tags["crabbox"] === OWNERSHIP_TAGS.crabbox && tags["provider"] === OWNERSHIP_TAGS.provider

/** Used when the TTL says nothing usable; Modal's own default lifetime. */
export const DEFAULT_TIMEOUT_SECONDS = 5 * 60
/** The longest lifetime crabbox asks for (Modal's documented maximum is not stated; the Go crabbox clamps here). */
export const MAX_TIMEOUT_SECONDS = 24 * 60 * 60

/** `--ttl` as whole seconds of sandbox lifetime, rounded up, within 5 minutes' default and 24 hours. */
export const sandboxTimeoutSeconds = (ttl: Duration.Duration): number => {
  const seconds = Math.ceil(Duration.toSeconds(ttl))
  return !Number.isFinite(seconds) || seconds <= 0 ? DEFAULT_TIMEOUT_SECONDS : Math.min(seconds, MAX_TIMEOUT_SECONDS)
}

/** Tag values crabbox derives are kept to `[A-Za-z0-9_.-]`, at most 63 characters. */
export const tagValue = (value: string): string => value.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 63) || "unknown"

export interface SandboxTagInput {
  readonly leaseId: string
  readonly slug: string
  readonly keep: boolean
  /** unix seconds */
  readonly expiresAt: number
  readonly app: string
  readonly image: string
  readonly repoName: string
}

/** Nine tags (the Go crabbox keeps sandboxes within ten). `app` and `image` stay as configured. */
export const sandboxTags = (input: SandboxTagInput): Record<string, string> => ({
  ...OWNERSHIP_TAGS,
  lease: input.leaseId,
  slug: tagValue(input.slug),
  keep: String(input.keep),
  expires_at: String(input.expiresAt),
  app: input.app,
  image: input.image,
  repo: tagValue(input.repoName)
})
