/**
 * fal Compute (https://api.fal.ai/v1/compute/instances) as a `ComputeApiService`.
 * falHttp does the exchange (headers, redirects, deadline, body cap), falErrors turns
 * failures into `ComputeApiError`, falWire and falInstance decode the bodies.
 */
import { HttpClient } from "@effect/platform"
import { Clock, Duration, Effect, Option, Schema } from "effect"
import type { ComputeApiError, ConfigError } from "../../domain/errors.js"
import type { ComputeApiService, ComputeApiSettings, CreateInstanceRequest } from "../../ports/ComputeApi.js"
import { normalizeApiUrl } from "./apiUrl.js"
import { credentialBinding } from "./credentialBinding.js"
import { apiError, type ErrorScope, fromResponse, type Operation } from "./falErrors.js"
import { type FalReply, type FalRequest, makeFalHttp } from "./falHttp.js"
import { toComputeInstance } from "./falInstance.js"
import { FalCreateBody, FalInstance, FalInstancePage } from "./falWire.js"
import { type RetryOptions, withRetries } from "./retryPolicy.js"

export interface FalClientOptions extends RetryOptions {
  /** deadline for one get, list or delete attempt, redirects and body included */
  readonly requestTimeout: Duration.DurationInput
  /** deadline for a create; short, because the backend replays it inside fal's window */
  readonly createTimeout: Duration.DurationInput
}

export const defaultOptions: FalClientOptions = {
  requestTimeout: "2 minutes",
  createTimeout: "30 seconds",
  retryBaseDelay: "500 millis",
  retryMaxDelay: "10 seconds",
  retries: 3
}

export const INSTANCE_TYPES: ReadonlyArray<string> = ["gpu_1x_h100_sxm5", "gpu_8x_h100_sxm5"]

/** fal caches a create's response per Idempotency-Key for this long. */
export const IDEMPOTENCY_WINDOW = Duration.minutes(10)

const PAGE_SIZE = "100"

export const make = (
  settings: ComputeApiSettings,
  options?: Partial<FalClientOptions>
): Effect.Effect<ComputeApiService, ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const endpoint = yield* normalizeApiUrl(settings.apiUrl)
    const { send } = makeFalHttp(yield* HttpClient.HttpClient, endpoint, settings.key)
    const opts: FalClientOptions = { ...defaultOptions, ...options }
    const retrying = withRetries(opts)
    const scopeOf = (operation: Operation): ErrorScope => ({ operation, key: settings.key })

    const urlOf = (path: string, params: Record<string, string> = {}): URL => {
      const url = new URL(`${endpoint}${path}`)
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
      return url
    }
    const instanceUrl = (id: string) => urlOf(`/compute/instances/${encodeURIComponent(id)}`)

    /** Any 2xx is the reply; anything else is fal's error. */
    const call = (scope: ErrorScope, request: FalRequest): Effect.Effect<FalReply, ComputeApiError> =>
      Effect.flatMap(send(scope, request), (reply) =>
        reply.status >= 200 && reply.status < 300
          ? Effect.succeed(reply)
          : Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(fromResponse(scope, reply, now))))

    const decode = <A, I>(scope: ErrorScope, schema: Schema.Schema<A, I>, reply: FalReply): Effect.Effect<A, ComputeApiError> =>
      reply.text.trim() === ""
        ? Effect.fail(apiError(scope, "decode", `HTTP ${reply.status} with an empty body`, { status: reply.status }))
        : Schema.decodeUnknown(Schema.parseJson(schema))(reply.text).pipe(
          Effect.mapError((e) => apiError(scope, "decode", `unexpected response body: ${e.message}`, { status: reply.status })))

    // "." and ".." survive encodeURIComponent and URL parsing would resolve them as path segments.
    const checkId = (scope: ErrorScope, id: string): Effect.Effect<void, ComputeApiError> =>
      id === "" || id === "." || id === ".."
        ? Effect.fail(apiError(scope, "validation", `invalid instance id ${JSON.stringify(id)}`))
        : Effect.void

    const create = Effect.fn("FalComputeApi.create")(function* (request: CreateInstanceRequest, idempotencyKey: string) {
      const scope = scopeOf("create")
      if (idempotencyKey.trim() === "") return yield* apiError(scope, "validation", "the idempotency key must not be empty")
      const body = yield* Schema.encode(FalCreateBody)({
        instance_type: request.instanceType,
        ssh_key: request.sshPublicKey,
        ...Option.match(request.sector, { onNone: () => ({}), onSome: (sector) => ({ sector }) })
      }).pipe(Effect.orDie)
      const reply = yield* call(scope, {
        method: "POST",
        url: urlOf("/compute/instances"),
        body: new TextEncoder().encode(JSON.stringify(body)),
        idempotencyKey,
        timeout: opts.createTimeout
      })
      return toComputeInstance(yield* decode(scope, FalInstance, reply))
    })

    const get = Effect.fn("FalComputeApi.get")(function* (id: string) {
      const scope = scopeOf("get")
      yield* checkId(scope, id)
      const reply = yield* call(scope, { method: "GET", url: instanceUrl(id), timeout: opts.requestTimeout }).pipe(retrying)
      const wire = yield* decode(scope, FalInstance, reply)
      if (wire.id !== id) {
        return yield* apiError(scope, "decode", `asked for instance ${JSON.stringify(id)} but got ${JSON.stringify(wire.id)}`, { status: reply.status })
      }
      return toComputeInstance(wire)
    })

    const list = Effect.fn("FalComputeApi.list")(function* (cursor: Option.Option<string>) {
      const scope = scopeOf("list")
      const params = Option.match(cursor, { onNone: () => ({ limit: PAGE_SIZE }), onSome: (c) => ({ limit: PAGE_SIZE, cursor: c }) })
      const url = urlOf("/compute/instances", params)
      const reply = yield* call(scope, { method: "GET", url, timeout: opts.requestTimeout }).pipe(retrying)
      const page = yield* decode(scope, FalInstancePage, reply)
      const next = page.next_cursor ?? ""
      const refuse = (why: string) => apiError(scope, "decode", why, { status: reply.status })
      if (page.has_more && next === "") return yield* refuse("has_more is true but next_cursor is empty")
      if (page.has_more && Option.contains(cursor, next)) return yield* refuse("next_cursor repeats the cursor it was given")
      return {
        instances: page.instances.map(toComputeInstance),
        nextCursor: page.has_more ? Option.some(next) : Option.none()
      }
    })

    const remove = Effect.fn("FalComputeApi.delete")(function* (id: string) {
      const scope = scopeOf("delete")
      yield* checkId(scope, id)
      yield* call(scope, { method: "DELETE", url: instanceUrl(id), timeout: opts.requestTimeout }).pipe(retrying)
    })

    return {
      capabilities: {
        provider: "fal",
        endpoint,
        idempotencyWindow: IDEMPOTENCY_WINDOW,
        instanceTypes: INSTANCE_TYPES,
        credentialBinding: credentialBinding(settings.key)
      },
      create,
      get,
      list,
      delete: remove
    } satisfies ComputeApiService
  })
