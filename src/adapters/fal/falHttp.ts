/**
 * One exchange with fal: the request with its headers, redirects followed by hand, the
 * response body read up to a cap, all under one deadline. Status codes are not judged
 * here; the caller turns a non-2xx into an error.
 */
import type { Headers, HttpClientResponse } from "@effect/platform"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Either, Redacted, Stream } from "effect"
import type { ComputeApiError } from "../../domain/errors.js"
import { apiError, fromClientError, type ErrorScope } from "./falErrors.js"
import { isRedirect, nextHop } from "./redirects.js"

export const MAX_BODY_BYTES = 16 * 1024 * 1024

export interface FalRequest {
  readonly method: "GET" | "POST" | "DELETE"
  readonly url: URL
  /** JSON bytes; sent again unchanged if a 307/308 moves the request */
  readonly body?: Uint8Array
  readonly idempotencyKey?: string
  /** for the whole exchange: every hop and the body */
  readonly timeout: Duration.DurationInput
}

export interface FalReply {
  readonly status: number
  readonly headers: Headers.Headers
  readonly text: string
}

type Hop =
  | { readonly _tag: "Final"; readonly reply: FalReply }
  | { readonly _tag: "Redirect"; readonly status: number; readonly location: string | undefined }

/** Stops pulling at the cap; closing the hop's scope then aborts the socket. */
const readCapped = (scope: ErrorScope, response: HttpClientResponse.HttpClientResponse, max: number) => {
  const tooLarge = apiError(scope, "too-large", `response body larger than ${max} bytes`, { status: response.status })
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > max) return Effect.fail(tooLarge)
  return response.stream.pipe(
    Stream.mapError((e) => fromClientError(scope, e)),
    Stream.runFoldEffect({ size: 0, chunks: [] as Array<Uint8Array> }, (acc, chunk) => {
      const size = acc.size + chunk.length
      if (size > max) return Effect.fail(tooLarge)
      acc.chunks.push(chunk)
      return Effect.succeed({ size, chunks: acc.chunks })
    }),
    Effect.map(({ chunks, size }) => Buffer.concat(chunks, size).toString("utf8")))
}

/**
 * `client` must not follow redirects itself (NodeHttpClient's node:http and undici clients
 * do not; fetch does by default). Trace headers are turned off: fal gets exactly our headers.
 */
export const makeFalHttp = (
  client: HttpClient.HttpClient,
  endpoint: string,
  key: Redacted.Redacted<string>,
  maxBodyBytes: number = MAX_BODY_BYTES
) => {
  const http = client.pipe(HttpClient.withTracerPropagation(false), HttpClient.withScope)
  const origin = new URL(endpoint).origin

  const toHttpRequest = (request: FalRequest, url: URL): HttpClientRequest.HttpClientRequest => {
    const base = HttpClientRequest.make(request.method)(url, {
      headers: { accept: "application/json", authorization: `Key ${Redacted.value(key)}` }
    })
    const keyed = request.idempotencyKey === undefined
      ? base
      : HttpClientRequest.setHeader(base, "idempotency-key", request.idempotencyKey)
    return request.body === undefined ? keyed : HttpClientRequest.bodyUint8Array(keyed, request.body, "application/json")
  }

  // Each hop has its own scope, so a redirect's connection is released before the next hop.
  const hop = (scope: ErrorScope, request: FalRequest, url: URL): Effect.Effect<Hop, ComputeApiError> =>
    Effect.scoped(Effect.gen(function* () {
      const response = yield* http.execute(toHttpRequest(request, url)).pipe(
        Effect.mapError((e) => fromClientError(scope, e)))
      if (isRedirect(response.status)) {
        return { _tag: "Redirect", status: response.status, location: response.headers["location"] } as const
      }
      const text = yield* readCapped(scope, response, maxBodyBytes)
      return { _tag: "Final", reply: { status: response.status, headers: response.headers, text } } as const
    }))

  const follow = (scope: ErrorScope, request: FalRequest, url: URL, followed: number): Effect.Effect<FalReply, ComputeApiError> =>
    Effect.flatMap(hop(scope, request, url), (result) => {
      if (result._tag === "Final") return Effect.succeed(result.reply)
      return Either.match(nextHop({ method: request.method, status: result.status, location: result.location, from: url, origin, followed }), {
        onLeft: (reason) => Effect.fail(apiError(scope, "redirect", reason, { status: result.status })),
        onRight: (next) => follow(scope, request, next, followed + 1)
      })
    })

  const send = (scope: ErrorScope, request: FalRequest): Effect.Effect<FalReply, ComputeApiError> =>
    follow(scope, request, request.url, 0).pipe(
      Effect.timeoutFail({
        duration: request.timeout,
        onTimeout: () => apiError(scope, "timeout", `no complete response within ${Duration.format(Duration.decode(request.timeout))}`)
      }))

  return { send } as const
}
