/**
 * The fal Compute emulator's HTTP API over real sockets, against fal's documented contract:
 * create/get/list/delete, readiness, auth, validation, idempotency, paging, request records.
 * Time-dependent behaviour runs on the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted, Scope, TestClock } from "effect"
import { existsSync } from "node:fs"
import { admin, call, create, createFor, expectEnvelope, KEY, keyPair, refused, start } from "../support/falEmulatorHarness.js"

describe("fal emulator API", () => {
  it.scoped("creates, gets, lists and deletes an instance as fal documents it", () => Effect.gen(function* () {
    const emu = yield* start()
    assert.match(emu.apiUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    const created = yield* create(emu, { instance_type: "gpu_8x_h100_sxm5", ssh_key: keyPair("a").public, sector: "sector_2" })
    assert.strictEqual(created.status, 201)
    const id = created.json.id as string
    assert.match(id, /^inst_[a-z0-9]{12}$/)
    assert.deepStrictEqual(created.json, {
      id, instance_type: "gpu_8x_h100_sxm5", region: "us-west", status: "provisioning", sector: "sector_2",
      creator_user_nickname: "crabbox-emulator"
    })
    const got = yield* call(emu, "GET", `/compute/instances/${id}`)
    assert.strictEqual(got.status, 200)
    assert.deepStrictEqual(got.json, created.json)
    const listed = yield* call(emu, "GET", "/compute/instances?limit=100")
    assert.deepStrictEqual(listed.json, { next_cursor: null, has_more: false, instances: [created.json] })

    const deleted = yield* call(emu, "DELETE", `/compute/instances/${id}`)
    assert.strictEqual(deleted.status, 204)
    assert.strictEqual(deleted.json, undefined)
    expectEnvelope(yield* call(emu, "GET", `/compute/instances/${id}`), 404, "not_found")
    expectEnvelope(yield* call(emu, "DELETE", `/compute/instances/${id}`), 404, "not_found")
    expectEnvelope(yield* call(emu, "GET", "/compute/instances/inst_nosuchthing"), 404, "not_found")
    assert.deepStrictEqual((yield* call(emu, "GET", "/compute/instances")).json.instances, [])
    const all = yield* emu.instances
    assert.deepStrictEqual(all.map((i) => [i.id, i.deleted]), [[id, true]])
  }))

  it.scoped("goes provisioning -> ready after the ready delay, with ip only once ready", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: "90 seconds" })
    const id = yield* createFor(emu, keyPair("ready"))
    yield* TestClock.adjust("89 seconds")
    const early = yield* call(emu, "GET", `/compute/instances/${id}`)
    assert.strictEqual(early.json.status, "provisioning")
    assert.notProperty(early.json, "ip")
    yield* TestClock.adjust("1 second")
    const ready = yield* call(emu, "GET", `/compute/instances/${id}`)
    assert.strictEqual(ready.json.status, "ready")
    assert.strictEqual(ready.json.ip, "127.0.0.1")
  }))

  it.scoped("answers 401 authorization_error without `Authorization: Key <key>`, with a fresh request id", () => Effect.gen(function* () {
    const emu = yield* start()
    const none = yield* call(emu, "GET", "/compute/instances", { authorization: null })
    const bearer = yield* call(emu, "GET", "/compute/instances", { authorization: `Bearer ${KEY}` })
    const empty = yield* call(emu, "GET", "/compute/instances", { authorization: "Key " })
    for (const reply of [none, bearer, empty]) expectEnvelope(reply, 401, "authorization_error")
    assert.strictEqual(new Set([none, bearer, empty].map((r) => r.json.error.request_id)).size, 3)
    expectEnvelope(yield* call(emu, "POST", "/compute/instances", {
      body: { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA" }, authorization: ""
    }), 401, "authorization_error")
    assert.strictEqual((yield* emu.instances).length, 0)
    for (const reply of [none, bearer, empty]) assert.notInclude(JSON.stringify(reply.json), KEY)
  }))

  it.scoped("with a configured key, accepts only that key", () => Effect.gen(function* () {
    const emu = yield* start({ apiKey: Redacted.make(KEY) })
    expectEnvelope(yield* call(emu, "GET", "/compute/instances", { authorization: "Key some-other-key" }), 401, "authorization_error")
    assert.strictEqual((yield* call(emu, "GET", "/compute/instances")).status, 200)
  }))

  it.scoped("validates the create body like the OpenAPI, sector only with the 8x type", () => Effect.gen(function* () {
    const emu = yield* start()
    const pub = keyPair("v").public
    const bad = [
      { instance_type: "1xH100-SXM", ssh_key: pub },
      { instance_type: "gpu_1x_h100_sxm5" },
      { instance_type: "gpu_1x_h100_sxm5", ssh_key: "" },
      { instance_type: "gpu_1x_h100_sxm5", ssh_key: pub, sector: "sector_1" },
      { instance_type: "gpu_8x_h100_sxm5", ssh_key: pub, sector: "sector_9" },
      { ssh_key: pub }
    ]
    for (const body of bad) expectEnvelope(yield* create(emu, body), 400, "validation_error")
    expectEnvelope(yield* call(emu, "POST", "/compute/instances", { body: "{not json" }), 400, "validation_error")
    expectEnvelope(yield* call(emu, "POST", "/compute/instances", {
      body: JSON.stringify({ instance_type: "gpu_1x_h100_sxm5", ssh_key: pub }), headers: { "content-type": "text/plain" }
    }), 400, "validation_error")
    const sectorMessage = (yield* create(emu, bad[3]!)).json.error.message as string
    assert.include(sectorMessage, "gpu_8x_h100_sxm5")
    assert.strictEqual((yield* emu.instances).length, 0)
    const ok = yield* create(emu, { instance_type: "gpu_8x_h100_sxm5", ssh_key: pub, sector: "sector_3" })
    assert.strictEqual(ok.status, 201)
    assert.strictEqual(ok.json.sector, "sector_3")
    const noSector = yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: pub, extra: "ignored" })
    assert.strictEqual(noSector.status, 201)
    assert.notProperty(noSector.json, "sector")
  }))

  it.scoped("replays a create with the same Idempotency-Key: same id, one instance, until the window ends", () => Effect.gen(function* () {
    const emu = yield* start({ idempotencyWindow: "10 minutes", readyDelay: "1 second" })
    const body = { instance_type: "gpu_1x_h100_sxm5", ssh_key: keyPair("idem").public }
    const first = yield* create(emu, body, { "idempotency-key": "cbx_0123456789ab" })
    yield* TestClock.adjust("9 minutes")
    const replay = yield* create(emu, body, { "idempotency-key": "cbx_0123456789ab" })
    assert.strictEqual(replay.status, 201)
    assert.strictEqual(replay.json.id, first.json.id)
    // the cached response, as first sent
    assert.strictEqual(replay.json.status, "provisioning")
    assert.strictEqual((yield* emu.instances).length, 1)

    const other = yield* create(emu, { ...body, instance_type: "gpu_8x_h100_sxm5" }, { "idempotency-key": "cbx_0123456789ab" })
    expectEnvelope(other, 400, "validation_error")
    assert.include(other.json.error.message, "Idempotency-Key")
    assert.strictEqual((yield* emu.instances).length, 1)

    const unkeyed = yield* create(emu, body)
    assert.notStrictEqual(unkeyed.json.id, first.json.id)
    yield* TestClock.adjust("1 minute")
    const afterWindow = yield* create(emu, body, { "idempotency-key": "cbx_0123456789ab" })
    assert.notStrictEqual(afterWindow.json.id, first.json.id)
    assert.strictEqual((yield* emu.instances).length, 3)
  }))

  it.scoped("one key sent twice at once still makes one instance", () => Effect.gen(function* () {
    const emu = yield* start()
    const body = { instance_type: "gpu_1x_h100_sxm5", ssh_key: keyPair("race").public }
    const replies = yield* Effect.all([1, 2, 3, 4].map(() => create(emu, body, { "idempotency-key": "same" })), { concurrency: "unbounded" })
    assert.strictEqual(new Set(replies.map((r) => r.json.id)).size, 1)
    assert.strictEqual((yield* emu.instances).length, 1)
  }))

  it.scoped("pages the list with base64 page-number cursors (Mg== is page 2)", () => Effect.gen(function* () {
    const emu = yield* start()
    const pub = keyPair("page").public
    const ids: Array<string> = []
    for (let i = 0; i < 5; i++) ids.push((yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: pub })).json.id)
    const first = yield* call(emu, "GET", "/compute/instances?limit=2")
    assert.strictEqual(first.json.next_cursor, "Mg==")
    assert.strictEqual(first.json.has_more, true)
    const second = yield* call(emu, "GET", "/compute/instances?limit=2&cursor=Mg%3D%3D")
    assert.strictEqual(second.json.next_cursor, "Mw==")
    const third = yield* call(emu, "GET", "/compute/instances?limit=2&cursor=Mw%3D%3D")
    assert.strictEqual(third.json.next_cursor, null)
    assert.strictEqual(third.json.has_more, false)
    assert.deepStrictEqual([first, second, third].flatMap((r) => r.json.instances.map((i: { id: string }) => i.id)), ids)
    const beyond = yield* call(emu, "GET", "/compute/instances?limit=2&cursor=OQ%3D%3D")
    assert.deepStrictEqual([beyond.json.instances, beyond.json.has_more], [[], false])
    expectEnvelope(yield* call(emu, "GET", "/compute/instances?cursor=bogus!"), 400, "validation_error")
    expectEnvelope(yield* call(emu, "GET", "/compute/instances?limit=0"), 400, "validation_error")
    expectEnvelope(yield* call(emu, "GET", "/compute/instances?limit=ten"), 400, "validation_error")
    assert.strictEqual((yield* call(emu, "GET", "/compute/instances")).json.instances.length, 5)
  }))

  it.scoped("records each request's shape without the key", () => Effect.gen(function* () {
    const emu = yield* start()
    yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA", note: KEY }, { "idempotency-key": "cbx_1" })
    yield* call(emu, "GET", `/compute/instances?limit=100&probe=${KEY}`, { authorization: `Bearer ${KEY}` })
    const [post, list] = yield* emu.requests
    assert.deepInclude(post, {
      method: "POST", path: "/v1/compute/instances", operation: "create", authorization: "key", authorized: true,
      idempotencyKey: "cbx_1", contentType: "application/json", accept: "application/json", status: 201,
      body: { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA", note: "[redacted]" }
    })
    assert.includeMembers([...post!.headers], ["authorization", "content-type", "idempotency-key", "accept"])
    assert.deepInclude(list, {
      method: "GET", operation: "list", authorization: "other", authorized: false, status: 401,
      query: { limit: "100", probe: "[redacted]" }
    })
    assert.isString(list!.requestId)
    const over = yield* admin(emu, "GET", "/requests")
    assert.strictEqual(over.json.requests.length, 2)
    assert.notInclude(JSON.stringify(over.json), KEY)
    assert.notInclude(JSON.stringify(yield* emu.requests), KEY)
  }))

  it.scoped("answers unknown paths with the envelope", () => Effect.gen(function* () {
    const emu = yield* start()
    expectEnvelope(yield* call(emu, "GET", "/compute/things"), 404, "not_found")
    expectEnvelope(yield* call(emu, "PUT", "/compute/instances/inst_x"), 404, "not_found")
  }))

  it.scoped("closing the scope stops both servers and removes every instance dir", () => Effect.gen(function* () {
    const scope = yield* Scope.make()
    const emu = yield* start({ readyDelay: 0 }).pipe(Scope.extend(scope))
    const id = yield* createFor(emu, keyPair("close"))
    assert.isTrue(existsSync(emu.homeFor(id)))
    yield* Scope.close(scope, Exit.void)
    assert.isFalse(existsSync(emu.root))
    const http = yield* Effect.promise(() => fetch(`${emu.apiUrl}/compute/instances`).then(() => "answered", () => "refused"))
    assert.strictEqual(http, "refused")
    assert.strictEqual(yield* refused(emu, keyPair("x")), "client-socket")
  }))
})
