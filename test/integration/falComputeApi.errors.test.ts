/**
 * The fal adapter against a real node:http server on 127.0.0.1: error mapping, retries,
 * size and time limits, and key hygiene in every error, all over real sockets.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import * as FalComputeApi from "../../src/adapters/fal/FalComputeApi.js"
import type { ComputeApiError } from "../../src/domain/errors.js"
import { apiAt, assertNoKey, fast, failure, KEY, request, withApi } from "../support/falComputeApiHarness.js"
import { type Handler, instance, sendError, sendJson, startServer } from "../support/falHttpServer.js"

describe("FalComputeApi: errors", () => {
  const httpDate = new Date(Date.now() + 30_000).toUTCString()
  const cases: ReadonlyArray<{
    readonly name: string
    readonly reply: Handler
    readonly kind: ComputeApiError["kind"]
    readonly status: number
    readonly requestId?: string
  }> = [
    { name: "401", kind: "auth", status: 401, requestId: "req_401", reply: (_q, r) => sendError(r, 401, { type: "authorization_error", message: "Authentication required", request_id: "req_401" }) },
    { name: "403", kind: "permission", status: 403, reply: (_q, r) => sendError(r, 403, { type: "authorization_error", message: "Access denied" }) },
    { name: "404 not_found", kind: "not-found", status: 404, requestId: "req_404", reply: (_q, r) => sendError(r, 404, { type: "not_found", message: "Resource not found", request_id: "req_404" }) },
    { name: "404 without fal's envelope", kind: "http", status: 404, reply: (_q, r) => void r.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>") },
    { name: "400 validation_error", kind: "validation", status: 400, reply: (_q, r) => sendError(r, 400, { type: "validation_error", message: "sector requires gpu_8x_h100_sxm5" }) },
    { name: "400 quota", kind: "quota", status: 400, reply: (_q, r) => sendError(r, 400, { type: "validation_error", message: "GPU quota exceeded for this team" }) },
    { name: "422 capacity", kind: "capacity", status: 422, reply: (_q, r) => sendError(r, 422, { type: "validation_error", message: "Insufficient H100 capacity in every region" }) },
    { name: "400 not JSON", kind: "http", status: 400, reply: (_q, r) => void r.writeHead(400).end("bad request") },
    { name: "408", kind: "timeout", status: 408, reply: (_q, r) => void r.writeHead(408).end() },
    { name: "409", kind: "conflict", status: 409, reply: (_q, r) => sendError(r, 409, { type: "validation_error", message: "request in flight" }) },
    { name: "418", kind: "http", status: 418, reply: (_q, r) => void r.writeHead(418).end() },
    { name: "500", kind: "server", status: 500, requestId: "req_500", reply: (_q, r) => sendError(r, 500, { type: "server_error", message: "An unexpected error occurred", request_id: "req_500" }) },
    { name: "502 not JSON, request id header", kind: "server", status: 502, requestId: "hdr_502", reply: (_q, r) => void r.writeHead(502, { "x-request-id": "hdr_502" }).end("<html>bad gateway</html>") },
    { name: "501", kind: "not-implemented", status: 501, reply: (_q, r) => sendError(r, 501, { type: "not_implemented", message: "nope" }) },
    { name: "500 not_implemented", kind: "not-implemented", status: 500, reply: (_q, r) => sendError(r, 500, { type: "not_implemented", message: "nope" }) },
    { name: "300 (not followed)", kind: "http", status: 300, reply: (_q, r) => void r.writeHead(300, { location: "/v1/x" }).end() }
  ]

  for (const c of cases) {
    it.scopedLive(`${c.name} -> ${c.kind}`, () => withApi(c.reply, (api, server) => Effect.gen(function* () {
      const error = yield* failure(api.create(request, "cbx_0123456789ab"))
      assert.strictEqual(error._tag, "ComputeApiError")
      assert.strictEqual(error.provider, "fal")
      assert.strictEqual(error.operation, "create")
      assert.strictEqual(error.kind, c.kind)
      assert.strictEqual(error.status, c.status)
      assert.strictEqual(error.requestId, c.requestId)
      assert.strictEqual(server.requests().length, 1)
    })))
  }

  it.scopedLive("429 carries Retry-After in seconds or as an HTTP date", () => withApi(
    (_req, res, i) => sendError(res, 429, { type: "rate_limited", message: "Rate limit exceeded", request_id: "req_429" },
      { "retry-after": i === 0 ? "7" : httpDate }),
    (api) => Effect.gen(function* () {
      const seconds = yield* failure(api.create(request, "k1"))
      assert.strictEqual(seconds.kind, "rate-limited")
      assert.strictEqual(seconds.requestId, "req_429")
      assert.strictEqual(seconds.retryAfterMs, 7000)
      const dated = yield* failure(api.create(request, "k2"))
      assert.isAbove(dated.retryAfterMs!, 20_000)
      assert.isAtMost(dated.retryAfterMs!, 31_000)
    })))

  it.scopedLive("get and delete keep not-found as an error for the caller", () => withApi(
    (_req, res) => sendError(res, 404, { type: "not_found", message: "Resource not found" }),
    (api, server) => Effect.gen(function* () {
      assert.strictEqual((yield* failure(api.get("inst_gone"))).kind, "not-found")
      assert.strictEqual((yield* failure(api.delete("inst_gone"))).kind, "not-found")
      assert.strictEqual(server.requests().length, 2)
    })))

  it.scopedLive("nothing listening is a transport error", () => Effect.gen(function* () {
    const closed = yield* Effect.scoped(Effect.map(startServer(() => undefined), (s) => s.origin))
    const api = yield* FalComputeApi.make({ apiUrl: `${closed}/v1`, key: Redacted.make(KEY) }, { ...fast, retries: 0 })
    const error = yield* failure(api.get("inst_abc123xyz"))
    assert.strictEqual(error.kind, "transport")
    assertNoKey(error)
  }).pipe(Effect.provide(NodeHttpClient.layer)))
})

describe("FalComputeApi: retries", () => {
  it.scopedLive("get retries a 503 and then succeeds", () => withApi(
    (_req, res, i) => i < 2 ? sendError(res, 503, { type: "server_error", message: "busy" }) : sendJson(res, 200, instance()),
    (api, server) => Effect.gen(function* () {
      assert.strictEqual((yield* api.get("inst_abc123xyz")).id, "inst_abc123xyz")
      assert.strictEqual(server.requests().length, 3)
    })))

  it.scopedLive("get gives up after the configured retries", () => withApi(
    (_req, res) => sendError(res, 500, { type: "server_error", message: "down" }),
    (api, server) => Effect.gen(function* () {
      assert.strictEqual((yield* failure(api.get("inst_abc123xyz"))).kind, "server")
      assert.strictEqual(server.requests().length, 3)
    })))

  it.scopedLive("delete retries a dropped connection; list retries a 429", () => withApi(
    (req, res, i) => {
      if (i === 0) return void res.socket?.destroy()
      if (req.method === "DELETE") return void res.writeHead(204).end()
      if (i === 2) return sendError(res, 429, { type: "rate_limited", message: "slow down" })
      sendJson(res, 200, { next_cursor: null, has_more: false, instances: [] })
    },
    (api, server) => Effect.gen(function* () {
      yield* api.delete("inst_abc123xyz")
      yield* api.list(Option.none())
      assert.deepStrictEqual(server.requests().map((r) => r.method), ["DELETE", "DELETE", "GET", "GET"])
    })))

  it.scopedLive("create is never retried, not on 503 and not on a timeout", () => withApi(
    (req, res) => req.headers["idempotency-key"] === "slow" ? undefined : sendError(res, 503, { type: "server_error", message: "busy" }),
    (api, server) => Effect.gen(function* () {
      assert.strictEqual((yield* failure(api.create(request, "cbx_0123456789ab"))).kind, "server")
      assert.strictEqual((yield* failure(api.create(request, "slow"))).kind, "timeout")
      assert.strictEqual(server.requests().length, 2)
    }),
    { createTimeout: "200 millis" }))

  it.scopedLive("Retry-After is honoured, up to the cap", () => withApi(
    (_req, res, i) => i % 2 === 0
      ? sendError(res, 429, { type: "rate_limited", message: "slow down" }, { "retry-after": "1" })
      : sendJson(res, 200, instance()),
    (api) => Effect.gen(function* () {
      const [honoured] = yield* Effect.timed(api.get("inst_abc123xyz"))
      assert.isAtLeast(Duration.toMillis(honoured), 950)
      const capped = yield* apiAt(yield* startServer((_req, res, i) => i === 0
        ? sendError(res, 429, { type: "rate_limited", message: "slow down" }, { "retry-after": "30" })
        : sendJson(res, 200, instance())))
      const [short] = yield* Effect.timed(capped.get("inst_abc123xyz"))
      assert.isBelow(Duration.toMillis(short), 900)
    }),
    { retryMaxDelay: "5 seconds" }))
})

describe("FalComputeApi: limits", () => {
  it.scopedLive("a body over 16 MiB is refused and the rest is not read", () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20)
    const sentWhenClosed: Array<number> = []
    return withApi(
      (_req, res) => {
        // Up to 256 MiB, no Content-Length: only the client stopping can end this early.
        res.writeHead(200, { "content-type": "application/json" })
        let sent = 0
        res.on("close", () => sentWhenClosed.push(sent))
        const pump = (): void => {
          while (sent < 256 && !res.destroyed) {
            sent += 1
            if (!res.write(chunk)) return void res.once("drain", pump)
          }
          res.end()
        }
        pump()
      },
      (api) => Effect.gen(function* () {
        const error = yield* failure(api.get("inst_abc123xyz"))
        assert.strictEqual(error.kind, "too-large")
        yield* Effect.sleep("200 millis")
        assert.strictEqual(sentWhenClosed.length, 1)
        assert.isBelow(sentWhenClosed[0]!, 64)
      }))
  })

  it.scopedLive("a declared Content-Length over 16 MiB is refused before reading", () => withApi(
    (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(17 * 1024 * 1024) })
      res.write("{")
    },
    (api) => Effect.gen(function* () {
      assert.strictEqual((yield* failure(api.list(Option.none()))).kind, "too-large")
    })))

  it.scopedLive("a server that never answers times out, per attempt", () => withApi(
    () => undefined,
    (api, server) => Effect.gen(function* () {
      const [elapsed, error] = yield* Effect.timed(failure(api.get("inst_abc123xyz")))
      assert.strictEqual(error.kind, "timeout")
      assert.strictEqual(server.requests().length, 2)
      assert.isBelow(Duration.toMillis(elapsed), 2000)
    }),
    { requestTimeout: "150 millis", retries: 1 }))
})

describe("FalComputeApi: the key never leaks", () => {
  it.scopedLive("a canary key echoed every way a server could is never in an error", () => {
    const echo: ReadonlyArray<Handler> = [
      (req, res) => sendError(res, 400, { type: "validation_error", message: `bad key ${req.headers.authorization}` }),
      (req, res) => sendError(res, 401, { type: "authorization_error", message: "no", request_id: String(req.headers.authorization), docs_url: `https://docs/${req.headers.authorization}` }),
      (req, res) => void res.writeHead(500).end(`raw ${req.headers.authorization} and ${JSON.stringify(String(req.headers.authorization))}`),
      (req, res) => void res.writeHead(502, { "x-request-id": String(req.headers.authorization) }).end(),
      (req, res) => sendJson(res, 200, { id: 42, echoed: req.headers.authorization, status: String(req.headers.authorization) }),
      (req, res) => void res.writeHead(200).end(`{"id": "${req.headers.authorization}`),
      (_req, res) => void res.writeHead(302, { location: `http://${encodeURIComponent(KEY)}@127.0.0.1:1/?k=${encodeURIComponent(KEY)}` }).end(),
      (req, res) => sendError(res, 429, { type: "rate_limited", message: JSON.stringify({ authorization: req.headers.authorization }) })
    ]
    return withApi(
      (req, res, i) => echo[i]!(req, res, i),
      (api) => Effect.gen(function* () {
        for (const _ of echo) assertNoKey(yield* failure(api.create(request, "cbx_0123456789ab")))
      }))
  })
})
