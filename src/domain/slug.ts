/**
 * Lease slugs: short human names (`blue-lobster`) derived from the lease id, accepted
 * wherever an id is, and unique among this machine's leases.
 */
import { Either } from "effect"
import { UsageError } from "./errors.js"

const ADJECTIVES = [
  "amber", "blue", "brisk", "coral", "crimson", "golden", "harbor",
  "jade", "pearl", "quick", "silver", "swift", "tidal", "violet"
] as const

const NOUNS = ["barnacle", "crab", "crayfish", "hermit", "krill", "lobster", "prawn", "shrimp"] as const

/** Longest slug a user may ask for, and the cut applied to a base before a collision suffix. */
export const MAX_SLUG_LENGTH = 41

/** How many `base-XXXX` candidates are tried before giving up. */
export const SLUG_COLLISION_ATTEMPTS = 20

const FNV_OFFSET_BASIS = 0x811c9dc5
const FNV_PRIME = 0x01000193

/**
 * FNV-1a, 32 bit, over the UTF-8 bytes of `s` (as Go's `hash/fnv` sees a string), so
 * slugs match the ones the Go crabbox derives from the same lease id.
 */
export const fnv1a32 = (s: string): number => {
  let hash = FNV_OFFSET_BASIS
  for (const byte of new TextEncoder().encode(s)) {
    hash = Math.imul(hash ^ byte, FNV_PRIME) >>> 0
  }
  return hash
}

/** `cbx_...` -> `adjective-noun`; 112 possible names, so collisions are expected. */
export const slugFromLeaseId = (leaseId: string): string => {
  const hash = fnv1a32(leaseId)
  const adjective = ADJECTIVES[hash % ADJECTIVES.length]!
  const noun = NOUNS[Math.floor(hash / ADJECTIVES.length) % NOUNS.length]!
  return `${adjective}-${noun}`
}

/** `Blue_Lobster`, `BLUE LOBSTER` and `blue-lobster` all become `blue-lobster`. */
export const normalizeSlug = (s: string): string =>
  s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")

/** A `--slug` value, normalized, or a UsageError saying what is wrong with it. */
export const validateRequestedSlug = (s: string): Either.Either<string, UsageError> => {
  const slug = normalizeSlug(s)
  if (slug.length === 0) {
    return Either.left(new UsageError({
      message: `invalid --slug ${JSON.stringify(s)}: it must contain at least one letter or digit`
    }))
  }
  if (slug.length > MAX_SLUG_LENGTH) {
    return Either.left(new UsageError({
      message: `invalid --slug ${JSON.stringify(s)}: it must be ${MAX_SLUG_LENGTH} characters or fewer ` +
        `after normalization (got ${slug.length})`
    }))
  }
  return Either.right(slug)
}

/** `base-XXXX`, XXXX being the low 16 bits of the hash of `leaseId-attempt`, in hex. */
const collisionCandidate = (base: string, leaseId: string, attempt: number): string => {
  // Cutting may leave a dash at the end; trimming it keeps the candidate normalized.
  const cut = base.slice(0, MAX_SLUG_LENGTH).replace(/-+$/, "")
  const suffix = (fnv1a32(`${leaseId}-${attempt}`) & 0xffff).toString(16).padStart(4, "0")
  return `${cut}-${suffix}`
}

/**
 * The slug a new lease gets: `base` when no other lease has it, else the first free
 * `base-XXXX` candidate. `taken` holds the other leases' slugs (compared normalized).
 * Deterministic in its inputs, so a retried acquire picks the same name.
 */
export const allocateSlug = (
  leaseId: string,
  base: string,
  taken: ReadonlySet<string>
): Either.Either<string, UsageError> => {
  const normalizedBase = normalizeSlug(base)
  const start = normalizedBase.length > 0 ? normalizedBase : slugFromLeaseId(leaseId)
  const takenNormalized = new Set(Array.from(taken, normalizeSlug))
  const candidates = [
    start,
    ...Array.from({ length: SLUG_COLLISION_ATTEMPTS }, (_, attempt) => collisionCandidate(start, leaseId, attempt))
  ]
  const free = candidates.find((candidate) => !takenNormalized.has(candidate))
  return free === undefined
    ? Either.left(new UsageError({
      message: `could not allocate a unique lease slug for ${leaseId}`,
      hint: "pass a different --slug, or stop leases you no longer need"
    }))
    : Either.right(free)
}
