import { shellQuote } from "../../domain/shellQuote.js"
import type { LeaseTarget, SshLeaseBackend } from "../providers/backend.js"

/** The commands a user needs to reach or end a kept lease, pasteable as they are. */
export const stopHint = (backend: SshLeaseBackend, lease: LeaseTarget) => {
  const select = [`--provider ${backend.spec.name}`, ...backend.selectorFlags.map((w) => (w.startsWith("--") ? w : shellQuote(w)))].join(" ")
  return `ssh: crabbox ssh ${select} ${lease.claim.slug}; stop: crabbox stop ${select} ${lease.claim.slug}`
}
