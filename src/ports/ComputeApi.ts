/**
 * Port: a cloud API that creates SSH-reachable instances (fal Compute first; Lambda or
 * RunPod would be further adapters). The shapes are provider-neutral: the adapter maps
 * its wire statuses onto `InstanceStatus` and keeps the raw text for display.
 */
import type { Duration, Effect, Option, Redacted } from "effect"
import { Context } from "effect"
import type { ComputeApiError, ConfigError } from "../domain/errors.js"

/**
 * provisioning: keep waiting (fal init, pending, provisioning, unknown);
 * ready: SSH may be attempted once `host` is known;
 * terminated: will never become ready (fal stopped);
 * unrecognized: a status the adapter does not know; readiness fails on it, lists show it.
 */
export type InstanceStatus = "provisioning" | "ready" | "terminated" | "unrecognized"

export interface ComputeInstance {
  readonly id: string
  readonly instanceType: string
  readonly status: InstanceStatus
  /** the provider's own word, for display (`provisioning`, `stopped`, ...) */
  readonly rawStatus: string
  readonly region: Option.Option<string>
  /** SSH address once known (fal: `ip`, present when ready) */
  readonly host: Option.Option<string>
}

export interface CreateInstanceRequest {
  readonly instanceType: string
  /** OpenSSH public key line the instance authorizes */
  readonly sshPublicKey: string
  /** fal: InfiniBand placement, only with the 8x type; other clouds ignore it */
  readonly sector: Option.Option<string>
}

export interface InstancePage {
  readonly instances: ReadonlyArray<ComputeInstance>
  /** None: this was the last page */
  readonly nextCursor: Option.Option<string>
}

export interface ComputeApiCapabilities {
  /** provider name used in errors and claims (`fal`) */
  readonly provider: string
  /** normalized base URL; claims are scoped by it */
  readonly endpoint: string
  /** how long a create may be replayed with the same idempotency key (fal: 10 minutes) */
  readonly idempotencyWindow: Duration.Duration
  /** API values of the machine types */
  readonly instanceTypes: ReadonlyArray<string>
  /**
   * Hash binding claims to the credential that made them (never the key itself):
   * another key must prove it sees the instance before it may delete it.
   */
  readonly credentialBinding: string
}

export interface ComputeApiService {
  readonly capabilities: ComputeApiCapabilities
  /**
   * Create one instance. Repeating the call with the same key and the same request inside
   * the idempotency window returns the same instance instead of a second one.
   */
  readonly create: (request: CreateInstanceRequest, idempotencyKey: string) => Effect.Effect<ComputeInstance, ComputeApiError>
  /** A `not-found` error means absent for this credential. */
  readonly get: (id: string) => Effect.Effect<ComputeInstance, ComputeApiError>
  readonly list: (cursor: Option.Option<string>) => Effect.Effect<InstancePage, ComputeApiError>
  /** A `not-found` error means already absent for this credential. */
  readonly delete: (id: string) => Effect.Effect<void, ComputeApiError>
}

export class ComputeApi extends Context.Tag("crabbox/ComputeApi")<ComputeApi, ComputeApiService>() {}

export interface ComputeApiSettings {
  /** base URL as configured (the adapter validates and normalizes it) */
  readonly apiUrl: string
  readonly key: Redacted.Redacted<string>
}

/**
 * Builds a ComputeApi per cloud from settings known only after config is loaded. The
 * composition root provides the real adapters; tests provide in-memory ones.
 */
export class ComputeClouds extends Context.Tag("crabbox/ComputeClouds")<ComputeClouds, {
  readonly fal: (settings: ComputeApiSettings) => Effect.Effect<ComputeApiService, ConfigError>
}>() {}
