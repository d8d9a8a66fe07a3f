/**
 * When a lease expires and how long it has been idle. A touch moves `lastUsedAt`, which
 * extends the idle bound but never the TTL bound (counted from `createdAt`).
 */
import { Option } from "effect"
import type { Claim } from "./claim.js"

/** The claim fields the timing rules read. */
export type LeaseClock = Pick<Claim, "createdAt" | "lastUsedAt" | "ttlSeconds" | "idleTimeoutSeconds">

export interface LeaseExpiry {
  /** Epoch milliseconds. */
  readonly atMs: number
  /** The same instant, RFC 3339 UTC. */
  readonly at: string
  /** Which bound comes first; on a tie `ttl`, the one a touch cannot move. */
  readonly bound: "idle" | "ttl"
}

/** RFC 3339 date-time with a zone. `Date.parse` alone would read other shapes as local time. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/

/** Epoch milliseconds of an RFC 3339 timestamp; None for anything else. */
export const parseRfc3339 = (s: string): Option.Option<number> => {
  const ms = RFC3339.test(s) ? Date.parse(s) : Number.NaN
  return Number.isFinite(ms) ? Option.some(ms) : Option.none()
}

/** `2024-05-01T10:00:00Z`; milliseconds only when there are some. */
export const formatRfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, "Z")

/**
 * `min(lastUsedAt + idleTimeout, createdAt + ttl)`. None when a timestamp does not parse
 * or the result lies outside what a Date can hold: callers must then treat the expiry as
 * unknown rather than guess (cleanup skips such a lease).
 */
export const expiresAt = (claim: LeaseClock): Option.Option<LeaseExpiry> =>
  Option.flatMap(
    Option.all([parseRfc3339(claim.createdAt), parseRfc3339(claim.lastUsedAt)]),
    ([createdMs, lastUsedMs]) => {
      const idleMs = lastUsedMs + claim.idleTimeoutSeconds * 1000
      const ttlMs = createdMs + claim.ttlSeconds * 1000
      const atMs = Math.min(idleMs, ttlMs)
      return Number.isFinite(new Date(atMs).getTime())
        ? Option.some({ atMs, at: formatRfc3339(atMs), bound: ttlMs <= idleMs ? "ttl" as const : "idle" as const })
        : Option.none()
    }
  )

/** Whole seconds since `lastUsedAt`, never negative; 0 when `lastUsedAt` does not parse. */
export const idleForSeconds = (claim: Pick<Claim, "lastUsedAt">, nowMs: number): number =>
  Option.match(parseRfc3339(claim.lastUsedAt), {
    onNone: () => 0,
    onSome: (lastUsedMs) => Math.max(0, Math.floor((nowMs - lastUsedMs) / 1000))
  })
