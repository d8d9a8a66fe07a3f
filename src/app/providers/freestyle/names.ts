/**
 * Freestyle v1 VMs carry no tags: the name is the only ownership marker. A crabbox VM is
 * `crabbox-<repo>-<6 hex>`, already in normalized slug form; anything else is foreign.
 */
import { Effect, Random } from "effect"
import { normalizeSlug } from "../../../domain/slug.js"

export const LEASE_PREFIX = "fsb_"

export const leaseIdOf = (vmId: string): string => `${LEASE_PREFIX}${vmId}`

/** The repo part: normalized, a leading `crabbox-` dropped so it is not doubled, cut to keep names short. */
const repoPart = (repoName: string): string => {
  const slug = normalizeSlug(repoName).replace(/^crabbox(-|$)/, "").slice(0, 40).replace(/-+$/, "")
  return slug === "" ? "crabbox" : slug
}

export const newVmName = (repoName: string) =>
  Effect.gen(function* () {
    let hex = ""
    for (let i = 0; i < 3; i++) hex += (yield* Random.nextIntBetween(0, 256)).toString(16).padStart(2, "0")
    return `crabbox-${repoPart(repoName)}-${hex}`
  })

export const isCrabboxVmName = (name: string): boolean => name.startsWith("crabbox-") && normalizeSlug(name) === name
