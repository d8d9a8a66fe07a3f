/**
 * The four Compute operations under `/v1`, as fal documents them: `Authorization: Key <key>`
 * on every call (401 `authorization_error` otherwise), the error envelope on every non-2xx,
 * and the injected faults. Each request is recorded without the key.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Clock, Effect, Either, Option, ParseResult, Redacted, Schema } from "effect"
import type { FalOperation, FalRecordedRequest } from "../../app/cli/falEmulator.js"
import { errorResponse, type ErrorAnswer } from "./errorEnvelope.js"
import type { FaultPlan, InjectedFailure } from "./faults.js"
import type { IdempotencyCache } from "./idempotency.js"
import { INSTANCE_TYPES, SECTOR_TYPE, SECTORS, toApiJson } from "./instance.js"
import type { InstanceStore } from "./instanceStore.js"
import type { CreateRequest, Lifecycle } from "./lifecycle.js"
import { decodeCursor, pageOf, parseLimit } from "./pagination.js"
import { keyOf, masked, recordedBody, secretsOf, type RequestLog } from "./requestLog.js"

export interface ApiDeps {
  readonly store: InstanceStore
  readonly lifecycle: Lifecycle
  readonly idempotency: IdempotencyCache
  readonly faults: FaultPlan
  readonly requests: RequestLog
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** creates run one at a time, so two requests with one Idempotency-Key make one instance */
  readonly createLock: Effect.Semaphore
  readonly onRequest: (request: FalRecordedRequest) => Effect.Effect<void>
}

/** How a request is answered: a response (with the request id of an error), or a cut connection. */
type Answer =
  | { readonly _tag: "Respond"; readonly response: HttpServerResponse.HttpServerResponse; readonly requestId?: string }
  | { readonly _tag: "Drop" }

const respond = (response: HttpServerResponse.HttpServerResponse): Answer => ({ _tag: "Respond", response })
const failed = ({ response, requestId }: ErrorAnswer): Answer => ({ _tag: "Respond", response, requestId })
const fail = (status: number, message: string) => Effect.map(errorResponse(status, message), failed)

const injected = (failure: InjectedFailure) =>
  Effect.map(errorResponse(
    failure.status,
    failure.status === 429 ? "Rate limit exceeded" : failure.status === 503 ? "Service temporarily unavailable"
      : failure.status >= 500 ? "Internal server error" : "Request failed",
    failure.retryAfterSeconds === undefined ? {} : { headers: { "retry-after": String(failure.retryAfterSeconds) } }
  ), failed)

/** What a handler gets: the request, its URL and its body text (already read for the record). */
interface Call {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly url: URL
  readonly text: string
}

const CreateBody = Schema.Struct({
  instance_type: Schema.Literal(...INSTANCE_TYPES),
  ssh_key: Schema.String.pipe(Schema.minLength(1)),
  sector: Schema.optional(Schema.Literal(...SECTORS))
})

const describeIssues = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.length === 0 ? "body" : issue.path.join(".")}: ${issue.message}`)
    .join("; ")

/** The body as fal validates it (OpenAPI plus the prose rule on sector); Left is the 400 message. */
const validateCreate = (call: Call): Either.Either<CreateRequest, string> => {
  const contentType = call.request.headers["content-type"] ?? ""
  if (!/^application\/json\s*(;|$)/i.test(contentType)) return Either.left("Content-Type must be application/json")
  let json: unknown
  try {
    json = JSON.parse(call.text)
  } catch {
    return Either.left("Request body is not valid JSON")
  }
  return Schema.decodeUnknownEither(CreateBody)(json).pipe(
    Either.mapLeft((e) => `Invalid request parameters: ${describeIssues(e)}`),
    Either.flatMap((body) => body.sector !== undefined && body.instance_type !== SECTOR_TYPE
      ? Either.left(`sector is only valid with ${SECTOR_TYPE}`)
      : Either.right({
        instanceType: body.instance_type,
        sshKey: body.ssh_key,
        ...(body.sector === undefined ? {} : { sector: body.sector })
      })))
}

const pathId = Effect.map(HttpRouter.params, (params) => params["id"] ?? "")

export const makeApiRoutes = (deps: ApiDeps) => {
  const { store, faults } = deps

  const list = (call: Call) =>
    Effect.gen(function* () {
      const failure = yield* faults.failure("list")
      if (Option.isSome(failure)) return yield* injected(failure.value)
      const limit = parseLimit(call.url.searchParams.get("limit") ?? undefined)
      if (Either.isLeft(limit)) return yield* fail(400, limit.left)
      const cursor = call.url.searchParams.get("cursor")
      const page = cursor === null || cursor === "" ? Either.right(1) : decodeCursor(cursor)
      if (Either.isLeft(page)) return yield* fail(400, page.left)
      const now = yield* Clock.currentTimeMillis
      const { items, nextCursor } = pageOf(yield* store.live, page.right, limit.right)
      return respond(HttpServerResponse.unsafeJson({
        next_cursor: nextCursor,
        has_more: nextCursor !== null,
        instances: items.map((i) => toApiJson(i, now))
      }))
    })

  const get = () =>
    Effect.gen(function* () {
      const failure = yield* faults.failure("get")
      if (Option.isSome(failure)) return yield* injected(failure.value)
      const found = yield* store.find(yield* pathId)
      if (Option.isNone(found)) return yield* fail(404, "Resource not found")
      return respond(HttpServerResponse.unsafeJson(toApiJson(found.value, yield* Clock.currentTimeMillis)))
    })

  const create = (call: Call) =>
    Effect.gen(function* () {
      const failure = yield* faults.failure("create")
      if (Option.isSome(failure)) return yield* injected(failure.value)
      const request = validateCreate(call)
      if (Either.isLeft(request)) return yield* fail(400, request.left)
      const idempotencyKey = call.request.headers["idempotency-key"]
      if (idempotencyKey !== undefined && idempotencyKey.trim() === "") return yield* fail(400, "Idempotency-Key is empty")
      const created = yield* deps.createLock.withPermits(1)(Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const canonical = JSON.stringify([request.right.instanceType, request.right.sshKey, request.right.sector ?? null])
        if (idempotencyKey !== undefined) {
          const replay = yield* deps.idempotency.lookup(idempotencyKey, canonical, now)
          if (replay._tag === "Mismatch") return Either.left("Idempotency-Key was already used with a different request")
          if (replay._tag === "Hit") return Either.right(replay.cached)
        }
        const instance = yield* deps.lifecycle.create(request.right)
        const cached = { request: canonical, status: 201, body: toApiJson(instance, now), storedAt: now }
        if (idempotencyKey !== undefined) yield* deps.idempotency.store(idempotencyKey, cached)
        return Either.right(cached)
      }))
      if (Either.isLeft(created)) return yield* fail(400, created.left)
      switch (yield* faults.createOutcome) {
        case "sent":
          return respond(HttpServerResponse.unsafeJson(created.right.body, { status: created.right.status }))
        case "lose-create":
          return yield* fail(500, "Internal server error")
        case "drop-create":
          return { _tag: "Drop" } satisfies Answer
      }
    })

  const remove = () =>
    Effect.gen(function* () {
      const failure = yield* faults.failure("delete")
      if (Option.isSome(failure)) return yield* injected(failure.value)
      const deleted = yield* deps.lifecycle.remove(yield* pathId)
      if (!deleted) return yield* fail(404, "Resource not found")
      if (yield* faults.loseDelete) return yield* fail(500, "Internal server error")
      return respond(HttpServerResponse.empty({ status: 204 }))
    })

  const unknownRoute = () => fail(404, "Resource not found")

  /** The key check, the record, and the answer (or the cut connection) around one operation. */
  const operation = <R>(name: FalOperation | "unknown", handler: (call: Call) => Effect.Effect<Answer, unknown, R>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const at = yield* Clock.currentTimeMillis
      const url = new URL(request.url, "http://127.0.0.1")
      const text = yield* request.text.pipe(Effect.orElseSucceed(() => ""))
      const authorization = request.headers["authorization"]
      const key = keyOf(authorization)
      const authorized = key !== undefined &&
        Option.match(deps.apiKey, { onNone: () => true, onSome: (k) => Redacted.value(k) === key })
      const answer: Answer = authorized
        ? yield* handler({ request, url, text }).pipe(
          Effect.catchAllCause(() => fail(500, "Internal server error")))
        : yield* fail(401, authorization === undefined ? "Authentication required"
          : key === undefined ? "Authorization must be \"Key <admin API key>\""
          : "Invalid API key")
      const header = (name: string, field: string) => {
        const value = request.headers[name]
        return value === undefined ? {} : { [field]: value }
      }
      const secrets = secretsOf(authorization, Option.getOrUndefined(Option.map(deps.apiKey, Redacted.value)))
      const body = recordedBody(masked(text, secrets))
      const record: FalRecordedRequest = {
        at,
        method: request.method,
        path: url.pathname,
        query: Object.fromEntries([...url.searchParams].map(([k, v]) => [k, masked(v, secrets)])),
        operation: name,
        headers: Object.keys(request.headers).sort(),
        authorization: authorization === undefined ? "absent" : key === undefined ? "other" : "key",
        authorized,
        ...header("idempotency-key", "idempotencyKey"),
        ...header("content-type", "contentType"),
        ...header("accept", "accept"),
        ...(body === undefined ? {} : { body }),
        status: answer._tag === "Drop" ? "dropped" : answer.response.status,
        ...(answer._tag === "Respond" && answer.requestId !== undefined ? { requestId: answer.requestId } : {})
      }
      yield* deps.requests.add(record)
      yield* deps.onRequest(record)
      if (answer._tag === "Respond") return answer.response
      // The server interrupts this fiber when it sees the connection close.
      NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
      return yield* Effect.never
    })

  return HttpRouter.empty.pipe(
    HttpRouter.get("/v1/compute/instances", operation("list", list)),
    HttpRouter.post("/v1/compute/instances", operation("create", create)),
    HttpRouter.get("/v1/compute/instances/:id", operation("get", get)),
    HttpRouter.del("/v1/compute/instances/:id", operation("delete", remove)),
    HttpRouter.all("/v1/*", operation("unknown", unknownRoute))
  )
}
