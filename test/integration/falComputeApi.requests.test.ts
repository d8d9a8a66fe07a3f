/**
 * The fal adapter against a real node:http server on 127.0.0.1: the headers, paths and bodies
 * it sends, how it decodes what comes back, and which base URLs it accepts.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Option, Redacted } from "effect"
import { createHash } from "node:crypto"
import * as FalComputeApi from "../../src/adapters/fal/FalComputeApi.js"
import { failure, KEY, request, withApi } from "../support/falComputeApiHarness.js"
import { instance, sendJson } from "../support/falHttpServer.js"

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
