import type { LeaseTarget, SshLeaseBackend } from "../providers/backend.js"

/** The commands a user needs to reach or end a kept lease. */
export const stopHint = (backend: SshLeaseBackend, lease: LeaseTarget) =>
  `ssh: crabbox ssh --provider ${backend.spec.name} ${lease.claim.slug}; stop: crabbox stop --provider ${backend.spec.name} ${lease.claim.slug}`
