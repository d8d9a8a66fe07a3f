/**
 * The fal adapter against a real node:http server on 127.0.0.1: which redirects it follows,
 * which it refuses, and that the key never reaches another origin.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { apiAt, assertNoKey, failure, JSON_KEY, KEY, request, withApi } from "../support/falComputeApiHarness.js"
import { instance, sendJson, startServer } from "../support/falHttpServer.js"

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
