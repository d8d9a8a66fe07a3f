/**
 * fal's error envelope, sent with every non-2xx: `{"error": {"type", "message", "docs_url",
 * "request_id"}}`, a fresh request id each time. Messages never contain the API key.
 */
import { HttpServerResponse } from "@effect/platform"
import { Effect, Random } from "effect"

export type FalErrorType =
  | "authorization_error" | "validation_error" | "not_found" | "rate_limited" | "server_error" | "not_implemented"

const DOCS_URL = "https://docs.fal.ai/platform-apis/v1/compute/instances"

/** The type fal pairs with a status in its examples; other 4xx count as validation, other 5xx as server. */
export const errorTypeFor = (status: number): FalErrorType =>
  status === 401 || status === 403 ? "authorization_error"
    : status === 404 ? "not_found"
    : status === 429 ? "rate_limited"
    : status === 501 ? "not_implemented"
    : status >= 500 ? "server_error"
    : "validation_error"

export const newRequestId = Effect.gen(function* () {
  let id = "req_"
  for (let i = 0; i < 20; i++) id += "0123456789abcdefghijklmnopqrstuvwxyz"[yield* Random.nextIntBetween(0, 36)]
  return id
})

export interface ErrorAnswer {
  readonly response: HttpServerResponse.HttpServerResponse
  readonly requestId: string
}

export const errorResponse = (
  status: number,
  message: string,
  options: { readonly type?: FalErrorType; readonly headers?: Record<string, string> } = {}
): Effect.Effect<ErrorAnswer> =>
  Effect.map(newRequestId, (requestId) => ({
    requestId,
    response: HttpServerResponse.unsafeJson(
      { error: { type: options.type ?? errorTypeFor(status), message, docs_url: DOCS_URL, request_id: requestId } },
      { status, ...(options.headers === undefined ? {} : { headers: options.headers }) }
    )
  }))
