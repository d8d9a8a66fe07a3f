/**
 * Shared setup for the fal adapter's integration tests: a canary key, fast retry options, and
 * an adapter pointed at a real node:http server (test/support/falHttpServer.ts) on 127.0.0.1.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as FalComputeApi from "../../src/adapters/fal/FalComputeApi.js"
import type { ComputeApiError } from "../../src/domain/errors.js"
import type { ComputeApiService } from "../../src/ports/ComputeApi.js"
import { type FalTestServer, type Handler, startServer } from "./falHttpServer.js"

/** A quote and a backslash, so the JSON-escaped form differs from the raw one. */
export const KEY = 'fal-canary:7f3a"c0\\ffee-0123456789abcdef'
export const JSON_KEY = JSON.stringify(KEY).slice(1, -1)

export const fast: Partial<FalComputeApi.FalClientOptions> = {
  requestTimeout: "3 seconds",
  createTimeout: "3 seconds",
  retryBaseDelay: "5 millis",
  retryMaxDelay: "40 millis",
  retries: 2
}

export const apiAt = (server: FalTestServer, options: Partial<FalComputeApi.FalClientOptions> = {}) =>
  FalComputeApi.make({ apiUrl: `${server.origin}/v1/`, key: Redacted.make(KEY) }, { ...fast, ...options }).pipe(Effect.orDie)

/** A server and an adapter pointed at it; NodeHttpClient (node:http) underneath, as in bin.ts. */
export const withApi = <A, E, R>(
  handler: Handler,
  body: (api: ComputeApiService, server: FalTestServer) => Effect.Effect<A, E, R>,
  options: Partial<FalComputeApi.FalClientOptions> = {}
) => Effect.gen(function* () {
  const server = yield* startServer(handler)
  return yield* body(yield* apiAt(server, options), server)
}).pipe(Effect.provide(NodeHttpClient.layer))

export const request = { instanceType: "gpu_8x_h100_sxm5", sshPublicKey: "ssh-ed25519 AAAAC3Nz crabbox cbx_0123456789ab", sector: Option.none() }

export const failure = <A>(effect: Effect.Effect<A, ComputeApiError>) => Effect.flip(effect)

export const assertNoKey = (error: ComputeApiError) => {
  for (const text of [error.message, String(error), JSON.stringify(error), error.requestId ?? ""]) {
    assert.notInclude(text, KEY)
    assert.notInclude(text, JSON_KEY)
    assert.notInclude(text, "7f3a")
  }
}
