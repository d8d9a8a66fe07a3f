/**
 * Every way a fal call fails, as a `ComputeApiError`. All text that came from the network
 * (envelope fields, bodies, parser and socket messages) passes through `redact` with the
 * key first: a server or proxy may echo the Authorization header back.
 */
import type { Headers, HttpClientError } from "@effect/platform"
import { Option, Redacted, Schema } from "effect"
import { ComputeApiError } from "../../domain/errors.js"
import { redact } from "../../domain/redact.js"
import { FalErrorEnvelope } from "./falWire.js"

export type Operation = ComputeApiError["operation"]
export type Kind = ComputeApiError["kind"]

/** Who is failing, and the key its messages must not carry. */
export interface ErrorScope {
  readonly operation: Operation
  readonly key: Redacted.Redacted<string>
}

/** Longer server text is cut: an error line is not a place for a whole HTML page. */
const MAX_MESSAGE = 500

const flatten = (text: string): string => text.replace(/\s+/g, " ").trim()
const cut = (text: string): string => text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE)}...`

interface Details {
  readonly status?: number | undefined
  readonly requestId?: string | undefined
  readonly retryAfterMs?: number | undefined
}

/**
 * Scrubs before cutting, so a cut never leaves a recognisable prefix of the key behind;
 * and both before and after flattening whitespace, so neither spelling survives.
 */
export const apiError = (scope: ErrorScope, kind: Kind, message: string, details: Details = {}): ComputeApiError => {
  const secrets = [Redacted.value(scope.key)]
  const scrub = (text: string) => cut(redact(flatten(redact(text, secrets)), secrets))
  return new ComputeApiError({
    provider: "fal",
    operation: scope.operation,
    kind,
    message: scrub(message),
    ...(details.status === undefined ? {} : { status: details.status }),
    ...(details.requestId === undefined || details.requestId === "" ? {} : { requestId: scrub(details.requestId) }),
    ...(details.retryAfterMs === undefined ? {} : { retryAfterMs: details.retryAfterMs })
  })
}

const QUOTA = /quota/i
const CAPACITY = /capacity|insufficient|unavailable/i

/**
 * Status first; the envelope refines it. Judgement calls:
 * - 404 is `not-found` only with fal's `not_found` envelope. A bare 404 (wrong base path,
 *   a proxy) must not read as "the instance is gone", or a delete would be confirmed falsely.
 * - 400/422 are `validation` only with an envelope; their message then picks `quota`
 *   ("quota") or `capacity` ("capacity", "insufficient", "unavailable"), because fal has no
 *   error type for either and a caller should not tell the user to fix their flags.
 * - 408 is a `timeout` (ambiguous for a create, retried for reads).
 * - 501 or `not_implemented` is `not-implemented`, not `server`: retrying will not help.
 */
export const classify = (status: number, envelope: Option.Option<FalErrorEnvelope>): Kind => {
  const error = Option.map(envelope, (e) => e.error)
  const type = Option.getOrUndefined(Option.map(error, (e) => e.type))
  if (status === 501 || type === "not_implemented") return "not-implemented"
  if (status === 401) return "auth"
  if (status === 403) return "permission"
  if (status === 404) return type === "not_found" ? "not-found" : "http"
  if (status === 408) return "timeout"
  if (status === 409) return "conflict"
  if (status === 429) return "rate-limited"
  if (status >= 500) return "server"
  if ((status === 400 || status === 422) && Option.isSome(error)) {
    if (QUOTA.test(error.value.message)) return "quota"
    if (CAPACITY.test(error.value.message)) return "capacity"
    return "validation"
  }
  return "http"
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds from `nowMs`. */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

const decodeEnvelope = (text: string): Option.Option<FalErrorEnvelope> => {
  try {
    return Schema.decodeUnknownOption(FalErrorEnvelope)(JSON.parse(text))
  } catch {
    return Option.none()
  }
}

/** fal documents no request-id header; one is used only when the body has none. */
const headerRequestId = (headers: Headers.Headers): string | undefined =>
  headers["x-fal-request-id"] ?? headers["x-request-id"]

/** A non-2xx, non-redirect response. */
export const fromResponse = (
  scope: ErrorScope,
  response: { readonly status: number; readonly headers: Headers.Headers; readonly text: string },
  nowMs: number
): ComputeApiError => {
  const envelope = decodeEnvelope(response.text)
  const details = {
    status: response.status,
    requestId: Option.match(envelope, {
      onNone: () => headerRequestId(response.headers),
      onSome: (e) => e.error.request_id ?? headerRequestId(response.headers)
    }),
    retryAfterMs: parseRetryAfter(response.headers["retry-after"], nowMs)
  }
  const message = Option.match(envelope, {
    onNone: () => `HTTP ${response.status}${response.text.trim() === "" ? "" : `: ${response.text}`}`,
    onSome: ({ error }) => `${error.type}: ${error.message}${error.docs_url ? ` (see ${error.docs_url})` : ""}`
  })
  return apiError(scope, classify(response.status, envelope), message, details)
}

const describeCause = (cause: unknown): string =>
  cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause)

/** The request never got a complete answer: refused, reset, aborted mid-body. */
export const fromClientError = (scope: ErrorScope, error: HttpClientError.HttpClientError): ComputeApiError => {
  const cause = describeCause(error.cause)
  return apiError(scope, "transport", `${error.reason.toLowerCase()} error${cause === "" ? "" : `: ${cause}`}`)
}
