/**
 * One Freestyle request: bearer key, JSON in and out, same-origin redirects only, a cap on
 * the response body, and errors that carry Freestyle's `{error, message}` code but never
 * the key. Non-JSON error bodies are not echoed (only the status line).
 */
import type { HttpClient, HttpClientResponse } from "@effect/platform"
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Option, Redacted, Stream } from "effect"
import { redact } from "../../domain/redact.js"
import { FreestyleApiError, type FreestyleOperation } from "../../ports/FreestyleApi.js"
import { sameOrigin } from "./endpoint.js"

const MAX_REDIRECTS = 10

export interface CallSpec {
  readonly operation: FreestyleOperation
  readonly method: "GET" | "POST" | "PUT" | "DELETE"
  /** below the endpoint, e.g. `/v1/vms` */
  readonly path: string
  readonly query?: Readonly<Record<string, string>>
  readonly body?: unknown
  /** whole request, body read included; None: only the caller bounds it */
  readonly timeout: Option.Option<Duration.Duration>
  readonly maxBodyBytes: number
}

export interface CallResult {
  readonly status: number
  /** parsed JSON body; undefined when the body was empty */
  readonly json: unknown
}

export interface Caller {
  readonly call: (spec: CallSpec) => Effect.Effect<CallResult, FreestyleApiError>
  readonly scrub: (text: string) => string
}

const kindOfStatus = (status: number): FreestyleApiError["kind"] =>
  status === 401 ? "auth"
    : status === 403 ? "permission"
    : status === 404 || status === 410 ? "not-found"
    : status === 408 ? "timeout"
    : status === 429 ? "rate-limited"
    : status === 400 || status === 409 || status === 422 ? "validation"
    : status >= 500 ? "server"
    : "http"

/** Freestyle codes that say more than the HTTP status. */
const kindOfCode = (code: string | undefined, fallback: FreestyleApiError["kind"]): FreestyleApiError["kind"] =>
  code === "VM_DELETED" || code === "VM_NOT_FOUND" || code === "FILE_NOT_FOUND" ? "not-found"
    : code === "EXEC_TIMED_OUT" ? "timeout"
    : code === "CUSTOM_SIZING_NOT_ALLOWED" ? "validation"
    : fallback

const readCapped = (response: HttpClientResponse.HttpClientResponse, max: number, fail: (kind: FreestyleApiError["kind"], message: string) => FreestyleApiError) =>
  response.stream.pipe(
    Stream.mapError(() => fail("transport", "reading the response failed")),
    Stream.runFoldEffect({ parts: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
      const size = acc.size + chunk.byteLength
      if (size > max) return Effect.fail(fail("too-large", `response body exceeds ${max} bytes`))
      acc.parts.push(chunk)
      return Effect.succeed({ parts: acc.parts, size })
    }),
    Effect.map(({ parts }) => Buffer.concat(parts).toString("utf8"))
  )

const errorBody = (text: string): { readonly code?: string; readonly message?: string } => {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === "object" && parsed !== null) {
      const o = parsed as Record<string, unknown>
      return {
        ...(typeof o["error"] === "string" ? { code: o["error"] } : {}),
        ...(typeof o["message"] === "string" ? { message: o["message"] } : {})
      }
    }
  } catch {
    // not JSON: shown as the status line only
  }
  return {}
}

export const makeCaller = (client: HttpClient.HttpClient, endpoint: string, key: Redacted.Redacted<string>): Caller => {
  const base = new URL(endpoint)
  const scrub = (text: string) => redact(text, [Redacted.value(key)])

  const call = (spec: CallSpec): Effect.Effect<CallResult, FreestyleApiError> => {
    const fail = (kind: FreestyleApiError["kind"], message: string, extra: { status?: number; code?: string } = {}) =>
      new FreestyleApiError({ operation: spec.operation, kind, message: scrub(`freestyle ${spec.operation}: ${message}`), ...extra })

    const first = new URL(`${endpoint}${spec.path}`)
    for (const [name, value] of Object.entries(spec.query ?? {})) first.searchParams.set(name, value)
    const body = spec.body === undefined ? undefined : HttpBody.text(JSON.stringify(spec.body), "application/json")

    const send = (url: URL, method: CallSpec["method"], hops: number): Effect.Effect<CallResult, FreestyleApiError> =>
      Effect.gen(function* () {
        const request = HttpClientRequest.make(method)(url, {
          headers: { authorization: `Bearer ${Redacted.value(key)}`, accept: "application/json" },
          ...(body === undefined || method === "GET" ? {} : { body })
        } as HttpClientRequest.Options.NoUrl)
        const response = yield* client.execute(request).pipe(
          Effect.mapError((e) => fail("transport", e.reason === "InvalidUrl" ? "invalid URL" : `request failed (${e.reason})`)))
        const status = response.status
        if (status >= 300 && status < 400 && status !== 304) {
          const location = response.headers["location"]
          if (location === undefined) return yield* fail("redirect", `HTTP ${status} without a Location`, { status })
          let next: URL
          try {
            next = new URL(location, url)
          } catch {
            return yield* fail("redirect", `HTTP ${status} with an invalid Location`, { status })
          }
          // The key must never reach another origin; the target is not shown (it may carry tokens).
          if (!sameOrigin(next, base)) return yield* fail("redirect", "refused cross-origin redirect", { status })
          if (hops >= MAX_REDIRECTS) return yield* fail("redirect", `more than ${MAX_REDIRECTS} redirects`, { status })
          const keepsMethod = status === 307 || status === 308
          if (!keepsMethod && method !== "GET") {
            return yield* fail("redirect", `refused method-rewriting redirect (HTTP ${status}) of a ${method}`, { status })
          }
          return yield* send(next, method, hops + 1)
        }
        const text = yield* readCapped(response, spec.maxBodyBytes, fail)
        if (status >= 400) {
          const parsed = errorBody(text)
          const kind = kindOfCode(parsed.code, kindOfStatus(status))
          const detail = parsed.code === undefined ? "" : `: ${parsed.code}${parsed.message === undefined ? "" : `: ${parsed.message}`}`
          return yield* fail(kind, `HTTP ${status}${detail}`, { status, ...(parsed.code === undefined ? {} : { code: parsed.code }) })
        }
        if (text.trim() === "") return { status, json: undefined }
        try {
          return { status, json: JSON.parse(text) as unknown }
        } catch {
          return yield* fail("decode", `HTTP ${status} body is not JSON`, { status })
        }
      })

    const attempt = send(first, spec.method, 0)
    return Option.match(spec.timeout, {
      onNone: () => attempt,
      onSome: (limit) => attempt.pipe(Effect.timeoutFail({
        duration: limit,
        onTimeout: () => fail("timeout", `no answer within ${Duration.format(limit)}`)
      }))
    })
  }

  return { call, scrub }
}
