/**
 * The claim labels a compute lease keeps. They are the local proof of ownership and the
 * facts a later process needs to finish a half-done create or delete; never secrets
 * (the credential binding is a hash and stays out of every view: see publicLabels).
 */
import { createHash } from "node:crypto"
import type { CreateInstanceRequest } from "../../../ports/ComputeApi.js"
import { Option } from "effect"
import { ACQUIRE_FAILED_LABEL } from "../../../domain/cleanupPlan.js"

export const LABEL = {
  target: "target",
  serverType: "server_type",
  sector: "sector",
  endpoint: "endpoint",
  credentialBinding: "credential_binding",
  /** sha256 of the exact create request: a replay must send the same bytes */
  requestBinding: "create_request_binding",
  idempotencyKey: "idempotency_key",
  /** inflight | ambiguous | rejected | created */
  createState: "create_state",
  createAttempts: "create_attempts",
  /** attempted | accepted: a delete was sent (or accepted) and absence is not yet confirmed */
  deleteState: "delete_state",
  /** the acquire failed and --keep kept the machine (the cleanup planner honours keep for it) */
  acquireFailed: ACQUIRE_FAILED_LABEL
} as const

export type CreateState = "inflight" | "ambiguous" | "rejected" | "created"

/** Binds a claim to one create request (type, sector, public key): a replay sends exactly this. */
export const requestBinding = (request: CreateInstanceRequest): string =>
  createHash("sha256")
    .update(`${request.instanceType}\0${Option.getOrElse(request.sector, () => "")}\0${request.sshPublicKey}`)
    .digest("hex")
