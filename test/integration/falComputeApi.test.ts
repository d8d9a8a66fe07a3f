/**
 * The fal adapter against a real node:http server on 127.0.0.1: headers, paths, decoding,
 * error mapping, retries, redirects, limits and key hygiene, all over real sockets.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Option, Redacted } from "effect"
import { createHash } from "node:crypto"
import * as FalComputeApi from "../../src/adapters/fal/FalComputeApi.js"
import type { ComputeApiError } from "../../src/domain/errors.js"
import type { ComputeApiService } from "../../src/ports/ComputeApi.js"
import { type FalTestServer, type Handler, instance, sendError, sendJson, startServer } from "../support/falHttpServer.js"

/** A quote and a backslash, so the JSON-escaped form differs from the raw one. */
const KEY = 'fal-canary:7f3a"c0\\ffee-0123456789abcdef'
const JSON_KEY = JSON.stringify(KEY).slice(1, -1)

const fast: Partial<FalComputeApi.FalClientOptions> = {
  requestTimeout: "3 seconds",
  createTimeout: "3 seconds",
  retryBaseDelay: "5 millis",
  retryMaxDelay: "40 millis",
  retries: 2
}

const apiAt = (server: FalTestServer, options: Partial<FalComputeApi.FalClientOptions> = {}) =>
  FalComputeApi.make({ apiUrl: `${server.origin}/v1/`, key: Redacted.make(KEY) }, { ...fast, ...options }).pipe(Effect.orDie)

/** A server and an adapter pointed at it; NodeHttpClient (node:http) underneath, as in bin.ts. */
const withApi = <A, E, R>(
  handler: Handler,
  body: (api: ComputeApiService, server: FalTestServer) => Effect.Effect<A, E, R>,
  options: Partial<FalComputeApi.FalClientOptions> = {}
) => Effect.gen(function* () {
  const server = yield* startServer(handler)
  return yield* body(yield* apiAt(server, options), server)
}).pipe(Effect.provide(NodeHttpClient.layer))

const request = { instanceType: "gpu_8x_h100_sxm5", sshPublicKey: "ssh-ed25519 AAAAC3Nz crabbox cbx_0123456789ab", sector: Option.none() }

const failure = <A>(effect: Effect.Effect<A, ComputeApiError>) => Effect.flip(effect)

const assertNoKey = (error: ComputeApiError) => {
  for (const text of [error.message, String(error), JSON.stringify(error), error.requestId ?? ""]) {
    assert.notInclude(text, KEY)
    assert.notInclude(text, JSON_KEY)
    assert.notInclude(text, "7f3a")
  }
}

describe("FalComputeApi: requests", () => {
  it.scopedLive("sends exactly the documented headers, paths and bodies per method", () => withApi(
    (req, res) => {
      if (req.method === "POST") return sendJson(res, 201, instance())
      if (req.method === "DELETE") return void res.writeHead(204).end()
      if (req.url.startsWith("/v1/compute/instances?")) return sendJson(res, 200, { next_cursor: null, has_more: false, instances: [] })
      return sendJson(res, 200, instance({ id: "inst/a b" }))
    },
    (api, server) => Effect.gen(function* () {
      yield* api.create(request, "cbx_0123456789ab")
      yield* api.create({ ...request, sector: Option.some("sector_2") }, "cbx_0123456789ab")
      yield* api.get("inst/a b")
      yield* api.list(Option.none())
      yield* api.list(Option.some("Mg=="))
      yield* api.delete("inst/a b")
      const seen = server.requests()
      assert.deepStrictEqual(seen.map((r) => `${r.method} ${r.url}`), [
        "POST /v1/compute/instances",
        "POST /v1/compute/instances",
        "GET /v1/compute/instances/inst%2Fa%20b",
        "GET /v1/compute/instances?limit=100",
        "GET /v1/compute/instances?limit=100&cursor=Mg%3D%3D",
        "DELETE /v1/compute/instances/inst%2Fa%20b"
      ])
      for (const r of seen) {
        assert.strictEqual(r.headers.authorization, `Key ${KEY}`)
        assert.strictEqual(r.headers.accept, "application/json")
        assert.isUndefined(r.headers.traceparent)
        assert.isUndefined(r.headers.b3)
        const post = r.method === "POST"
        assert.strictEqual(r.headers["content-type"], post ? "application/json" : undefined)
        assert.strictEqual(r.headers["idempotency-key"], post ? "cbx_0123456789ab" : undefined)
        if (!post) assert.strictEqual(r.body, "")
      }
      assert.deepStrictEqual(JSON.parse(seen[0]!.body), { instance_type: "gpu_8x_h100_sxm5", ssh_key: request.sshPublicKey })
      assert.deepStrictEqual(JSON.parse(seen[1]!.body), { ...JSON.parse(seen[0]!.body), sector: "sector_2" })
    })))

  it.scopedLive("a replayed create carries the same Idempotency-Key and body", () => withApi(
    (_req, res) => sendJson(res, 201, instance()),
    (api, server) => Effect.gen(function* () {
      const first = yield* api.create(request, "cbx_feedfacecafe")
      const again = yield* api.create(request, "cbx_feedfacecafe")
      assert.deepStrictEqual(again, first)
      const [a, b] = server.requests()
      assert.strictEqual(a!.headers["idempotency-key"], "cbx_feedfacecafe")
      assert.strictEqual(b!.headers["idempotency-key"], "cbx_feedfacecafe")
      assert.strictEqual(b!.body, a!.body)
    })))

  it.scopedLive("capabilities: normalized endpoint, provider, window, types, credential binding", () => withApi(
    (_req, res) => void res.end(),
    (api, server) => Effect.sync(() => {
      const expected = createHash("sha256").update(`crabbox/fal/credential-binding/v1\0${KEY}`).digest("hex")
      assert.strictEqual(api.capabilities.endpoint, `${server.origin}/v1`)
      assert.strictEqual(api.capabilities.provider, "fal")
      assert.isTrue(Duration.equals(api.capabilities.idempotencyWindow, Duration.minutes(10)))
      assert.deepStrictEqual(api.capabilities.instanceTypes, ["gpu_1x_h100_sxm5", "gpu_8x_h100_sxm5"])
      assert.strictEqual(api.capabilities.credentialBinding, expected)
      assert.strictEqual(server.requests().length, 0)
    })))

  it.scopedLive("invalid ids and idempotency keys are refused before any request", () => withApi(
    (_req, res) => void res.end(),
    (api, server) => Effect.gen(function* () {
      for (const id of ["", ".", ".."]) {
        assert.strictEqual((yield* failure(api.get(id))).kind, "validation")
        assert.strictEqual((yield* failure(api.delete(id))).kind, "validation")
      }
      assert.strictEqual((yield* failure(api.create(request, " "))).kind, "validation")
      assert.strictEqual(server.requests().length, 0)
    })))
})

describe("FalComputeApi: decoding", () => {
  it.scopedLive("maps fal statuses exactly, keeps the raw text, ignores unknown keys", () => {
    const statuses = ["init", "pending", "provisioning", "unknown", "ready", "stopped", "Ready", " ready", "", "deleting"]
    return withApi(
      (_req, res) => sendJson(res, 200, {
        next_cursor: null,
        has_more: false,
        instances: statuses.map((status, i) => instance({
          id: `inst_${i}`, status, region: i === 0 ? "mars-north" : "us-east", ip: status === "ready" ? "203.0.113.42" : null, extra: { nested: true }
        }))
      }),
      (api) => Effect.gen(function* () {
        const page = yield* api.list(Option.none())
        assert.deepStrictEqual(page.instances.map((i) => i.status), [
          "provisioning", "provisioning", "provisioning", "provisioning", "ready", "terminated",
          "unrecognized", "unrecognized", "unrecognized", "unrecognized"
        ])
        assert.deepStrictEqual(page.instances.map((i) => i.rawStatus), statuses)
        assert.deepStrictEqual(page.instances[4]!.host, Option.some("203.0.113.42"))
        assert.deepStrictEqual(page.instances[0]!.host, Option.none())
        assert.deepStrictEqual(page.instances[0]!.region, Option.some("mars-north"))
        assert.deepStrictEqual(page.nextCursor, Option.none())
      }))
  })

  it.scopedLive("list follows next_cursor across several pages", () => {
    const pages: Record<string, { next: string | null; ids: Array<string> }> = {
      "": { next: "Mg==", ids: ["a", "b"] },
      "Mg==": { next: "Mw==", ids: ["c"] },
      "Mw==": { next: null, ids: ["d"] }
    }
    return withApi(
      (req, res) => {
        const page = pages[new URL(req.url, "http://x").searchParams.get("cursor") ?? ""]!
        sendJson(res, 200, { next_cursor: page.next, has_more: page.next !== null, instances: page.ids.map((id) => instance({ id })) })
      },
      (api, server) => Effect.gen(function* () {
        const ids: Array<string> = []
        let cursor = Option.none<string>()
        do {
          const page = yield* api.list(cursor)
          ids.push(...page.instances.map((i) => i.id))
          cursor = page.nextCursor
        } while (Option.isSome(cursor))
        assert.deepStrictEqual(ids, ["a", "b", "c", "d"])
        assert.deepStrictEqual(server.requests().map((r) => r.url), [
          "/v1/compute/instances?limit=100",
          "/v1/compute/instances?limit=100&cursor=Mg%3D%3D",
          "/v1/compute/instances?limit=100&cursor=Mw%3D%3D"
        ])
      }))
  })

  it.scopedLive("malformed bodies are decode errors and are not retried", () => {
    const bodies: ReadonlyArray<string> = [
      JSON.stringify({ next_cursor: null, has_more: true, instances: [] }),
      JSON.stringify({ next_cursor: "", has_more: true, instances: [] }),
      JSON.stringify({ next_cursor: "Mg==", has_more: true, instances: [] }), // repeats the cursor it was given
      JSON.stringify({ next_cursor: null, instances: [] }),
      JSON.stringify({ has_more: false, instances: [] }),
      JSON.stringify({ next_cursor: null, has_more: false, instances: null }),
      JSON.stringify({ next_cursor: null, has_more: false, instances: [instance({ id: "" })] }),
      "<html>oops</html>",
      ""
    ]
    return withApi(
      (_req, res, i) => void res.writeHead(200, { "content-type": "application/json" }).end(bodies[i]),
      (api, server) => Effect.gen(function* () {
        for (const _ of bodies) assert.strictEqual((yield* failure(api.list(Option.some("Mg==")))).kind, "decode")
        assert.strictEqual(server.requests().length, bodies.length)
      }))
  })

  it.scopedLive("get refuses a body for another id or with an empty id", () => withApi(
    (req, res) => sendJson(res, 200, instance({ id: req.url.endsWith("/empty") ? "" : "inst_other" })),
    (api) => Effect.gen(function* () {
      assert.strictEqual((yield* failure(api.get("inst_abc123xyz"))).kind, "decode")
      assert.strictEqual((yield* failure(api.get("empty"))).kind, "decode")
    })))
})

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

describe("FalComputeApi: redirects", () => {
  it.scopedLive("the underlying client does not follow redirects by itself", () => Effect.gen(function* () {
    const target = yield* startServer((_req, res) => void res.end("followed"))
    const origin = yield* startServer((_req, res) => void res.writeHead(302, { location: `${target.origin}/x` }).end())
    const client = yield* HttpClient.HttpClient
    const response = yield* Effect.scoped(client.execute(HttpClientRequest.get(`${origin.origin}/`)))
    assert.strictEqual(response.status, 302)
    assert.strictEqual(target.requests().length, 0)
  }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scopedLive("GET follows same-origin 301/302/303/307/308", () => withApi(
    (req, res, i) => i < 5
      ? void res.writeHead([301, 302, 303, 307, 308][i]!, { location: i % 2 === 0 ? `/v1/hop${i}` : `http://127.0.0.1:${req.headers.host!.split(":")[1]}/v1/hop${i}` }).end()
      : sendJson(res, 200, instance()),
    (api, server) => Effect.gen(function* () {
      assert.strictEqual((yield* api.get("inst_abc123xyz")).id, "inst_abc123xyz")
      const seen = server.requests()
      assert.strictEqual(seen.length, 6)
      for (const r of seen) assert.strictEqual(r.headers.authorization, `Key ${KEY}`)
    })))

  it.scopedLive("POST follows a same-origin 307 with the same body, key and idempotency key", () => withApi(
    (req, res) => req.url === "/v1/compute/instances"
      ? void res.writeHead(307, { location: "/v1/moved/compute/instances" }).end()
      : sendJson(res, 201, instance()),
    (api, server) => Effect.gen(function* () {
      yield* api.create(request, "cbx_0123456789ab")
      const [first, second] = server.requests()
      assert.strictEqual(second!.method, "POST")
      assert.strictEqual(second!.url, "/v1/moved/compute/instances")
      assert.strictEqual(second!.body, first!.body)
      assert.strictEqual(second!.headers["idempotency-key"], "cbx_0123456789ab")
      assert.strictEqual(second!.headers.authorization, `Key ${KEY}`)
    })))

  it.scopedLive("POST redirected by 302 and DELETE by 303 are refused", () => withApi(
    (req, res) => void res.writeHead(req.method === "POST" ? 302 : 303, { location: "/v1/elsewhere" }).end(),
    (api, server) => Effect.gen(function* () {
      const post = yield* failure(api.create(request, "cbx_0123456789ab"))
      assert.strictEqual(post.kind, "redirect")
      assert.strictEqual(post.status, 302)
      assert.strictEqual((yield* failure(api.delete("inst_abc123xyz"))).kind, "redirect")
      assert.deepStrictEqual(server.requests().map((r) => r.method), ["POST", "DELETE"])
    })))

  it.scopedLive("cross-origin redirects are refused and the other origin never sees the key", () => Effect.gen(function* () {
    const other = yield* startServer((_req, res) => sendJson(res, 200, instance()))
    const redirecting = yield* startServer((req, res) =>
      void res.writeHead(req.method === "GET" ? 302 : 307, { location: `${other.origin}${req.url}` }).end())
    const api = yield* apiAt(redirecting)
    for (const call of [api.get("inst_abc123xyz"), api.create(request, "cbx_0123456789ab"), api.delete("inst_abc123xyz")]) {
      const error = yield* failure(call)
      assert.strictEqual(error.kind, "redirect")
      assertNoKey(error)
    }
    assert.strictEqual(redirecting.requests().length, 3)
    assert.isFalse(other.requests().some((r) => JSON.stringify(r).includes(KEY) || JSON.stringify(r).includes(JSON_KEY)))
    assert.strictEqual(other.requests().length, 0)
  }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scopedLive("a redirect loop stops after 10 redirects", () => withApi(
    (_req, res, i) => void res.writeHead(302, { location: `/v1/loop/${i}` }).end(),
    (api, server) => Effect.gen(function* () {
      assert.strictEqual((yield* failure(api.get("inst_abc123xyz"))).kind, "redirect")
      assert.strictEqual(server.requests().length, 11)
    })))
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

describe("FalComputeApi: base URL", () => {
  const make = (apiUrl: string) =>
    FalComputeApi.make({ apiUrl, key: Redacted.make(KEY) }).pipe(Effect.provide(NodeHttpClient.layer), Effect.either)

  it.effect("accepts https and loopback http, normalized", () => Effect.gen(function* () {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["https://api.fal.ai/v1", "https://api.fal.ai/v1"],
      ["https://api.fal.ai/v1/", "https://api.fal.ai/v1"],
      ["HTTPS://API.fal.ai:443/v1//", "https://api.fal.ai/v1"],
      ["https://fal.example:8443", "https://fal.example:8443"],
      ["http://localhost:8080/v1", "http://localhost:8080/v1"],
      ["http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1"],
      ["http://[::1]:9/v1", "http://[::1]:9/v1"]
    ]
    for (const [raw, normalized] of cases) {
      const result = yield* make(raw)
      assert.isTrue(Either.isRight(result), raw)
      if (Either.isRight(result)) assert.strictEqual(result.right.capabilities.endpoint, normalized)
    }
  }))

  it.effect("refuses anything else with a ConfigError naming fal.apiUrl, never echoing userinfo", () => Effect.gen(function* () {
    const bad = [
      "", "api.fal.ai/v1", "https:api.fal.ai/v1", "https:///v1", "ftp://api.fal.ai/v1", "http://api.fal.ai/v1",
      "http://10.0.0.1/v1", "https://alice:s3cr3tpw@api.fal.ai/v1", "https://s3cr3tpw@api.fal.ai/v1",
      "https://api.fal.ai/v1?token=s3cr3tpw", "https://api.fal.ai/v1#s3cr3tpw", "https://api.fal.ai/v1/../v2",
      "https://api.fal.ai/v1/%2e%2e", "https://api.fal.ai\\v1", "https://api.fal.ai/ v1"
    ]
    for (const raw of bad) {
      const result = yield* make(raw)
      assert.isTrue(Either.isLeft(result), raw)
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "ConfigError")
        assert.strictEqual(result.left.key, "fal.apiUrl")
        assert.notInclude(`${result.left.message} ${String(result.left)}`, "s3cr3tpw")
        assert.notInclude(result.left.message, "alice")
      }
    }
  }))
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
