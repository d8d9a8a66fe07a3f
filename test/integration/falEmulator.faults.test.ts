/**
 * The fal Compute emulator's fault injection: the fault syntax, every fault kind over real
 * sockets, and setting faults at runtime through the admin endpoint.
 * Time-dependent behaviour runs on the TestClock; only the slow-SSH check uses real time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, TestClock } from "effect"
import { formatFault, parseFault } from "../../src/emulator/fal/faults.js"
import {
  admin, call, collect, connect, create, createFor, expectEnvelope, KEY, keyPair, opened, refused, ssh, start
} from "../support/falEmulatorHarness.js"

describe("fal emulator faults", () => {
  it("parses and formats the documented syntax", () => {
    const texts = [
      "lose-create:1", "drop-create:2", "lose-delete:1", "fail:get:503:2", "fail:list:429:1:7",
      "never-ready", "stopped", "stopped:30s", "slow-ssh:3s"
    ]
    for (const text of texts) assert.strictEqual(formatFault(Either.getOrThrow(parseFault(text))), text)
    assert.deepStrictEqual(Either.getOrThrow(parseFault("fail-delete:2")), { kind: "fail", operation: "delete", status: 500, count: 2 })
    assert.deepStrictEqual(Either.getOrThrow(parseFault("rate-limit:create")), { kind: "fail", operation: "create", status: 429, count: 1 })
    assert.deepStrictEqual(Either.getOrThrow(parseFault("lose-create")), { kind: "lose-create", count: 1 })
    for (const bad of ["explode", "fail:put:500", "fail:get:200", "fail:get:503:0", "slow-ssh", "slow-ssh:3", "never-ready:2", "lose-create:x"]) {
      const parsed = parseFault(bad)
      assert.isTrue(Either.isLeft(parsed), bad)
      if (Either.isLeft(parsed)) assert.include(parsed.left, JSON.stringify(bad))
    }
  })

  it.scoped("lose-create: the instance is made but the answer is a 500; a replay with the key recovers its id", () => Effect.gen(function* () {
    const emu = yield* start({ faults: [{ kind: "lose-create", count: 1 }] })
    const body = { instance_type: "gpu_1x_h100_sxm5", ssh_key: keyPair("lost").public }
    const lost = yield* create(emu, body, { "idempotency-key": "cbx_lost" })
    expectEnvelope(lost, 500, "server_error")
    const made = yield* emu.instances
    assert.strictEqual(made.length, 1)
    const replay = yield* create(emu, body, { "idempotency-key": "cbx_lost" })
    assert.strictEqual(replay.status, 201)
    assert.strictEqual(replay.json.id, made[0]!.id)
    assert.strictEqual((yield* emu.instances).length, 1)
    assert.deepStrictEqual(yield* emu.faults, [])
  }))

  it.scoped("drop-create: the instance is made and the connection is cut", () => Effect.gen(function* () {
    const emu = yield* start({ faults: [{ kind: "drop-create", count: 1 }] })
    const outcome = yield* Effect.promise(() => fetch(`${emu.apiUrl}/compute/instances`, {
      method: "POST",
      headers: { authorization: `Key ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA" })
    }).then((r) => `status ${r.status}`, () => "dropped"))
    assert.strictEqual(outcome, "dropped")
    assert.strictEqual((yield* emu.instances).length, 1)
    assert.strictEqual((yield* emu.requests)[0]!.status, "dropped")
  }))

  it.scoped("fail:<op>:<status>:N answers N times and then recovers; 429 and 503 carry Retry-After", () => Effect.gen(function* () {
    const emu = yield* start({ faults: [
      { kind: "fail", operation: "get", status: 503, count: 2 },
      { kind: "fail", operation: "list", status: 429, count: 1, retryAfterSeconds: 7 },
      { kind: "fail", operation: "create", status: 502, count: 1 }
    ] })
    const failedCreate = yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA" })
    expectEnvelope(failedCreate, 502, "server_error")
    assert.strictEqual((yield* emu.instances).length, 0)
    const id = (yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA" })).json.id
    const gets = yield* Effect.forEach([1, 2, 3], () => call(emu, "GET", `/compute/instances/${id}`))
    assert.deepStrictEqual(gets.map((r) => r.status), [503, 503, 200])
    assert.strictEqual(gets[0]!.headers.get("retry-after"), "1")
    const limited = yield* call(emu, "GET", "/compute/instances")
    expectEnvelope(limited, 429, "rate_limited")
    assert.strictEqual(limited.headers.get("retry-after"), "7")
    assert.strictEqual((yield* call(emu, "GET", "/compute/instances")).status, 200)
  }))

  it.scoped("fail-delete:N: N 500s that delete nothing, then the delete", () => Effect.gen(function* () {
    const emu = yield* start({ faults: [Either.getOrThrow(parseFault("fail-delete:2"))] })
    const id = (yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA" })).json.id
    const deletes = yield* Effect.forEach([1, 2], () => call(emu, "DELETE", `/compute/instances/${id}`))
    for (const reply of deletes) expectEnvelope(reply, 500, "server_error")
    assert.strictEqual((yield* call(emu, "GET", `/compute/instances/${id}`)).status, 200)
    assert.strictEqual((yield* call(emu, "DELETE", `/compute/instances/${id}`)).status, 204)
  }))

  it.scoped("lose-delete: deleted, but answered 500; the retry gets 404", () => Effect.gen(function* () {
    const emu = yield* start({ faults: [{ kind: "lose-delete", count: 1 }] })
    const id = (yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA" })).json.id
    expectEnvelope(yield* call(emu, "DELETE", `/compute/instances/${id}`), 500, "server_error")
    expectEnvelope(yield* call(emu, "DELETE", `/compute/instances/${id}`), 404, "not_found")
    assert.isTrue((yield* emu.instances)[0]!.deleted)
  }))

  it.scoped("never-ready: stays provisioning and refuses SSH", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: "1 second", faults: [{ kind: "never-ready" }] })
    const pair = keyPair("never")
    const id = yield* createFor(emu, pair)
    yield* TestClock.adjust("1 hour")
    const got = yield* call(emu, "GET", `/compute/instances/${id}`)
    assert.strictEqual(got.json.status, "provisioning")
    assert.notProperty(got.json, "ip")
    assert.strictEqual(yield* refused(emu, pair), "client-authentication")
  }))

  it.scoped("stopped: instead of ready, or some time after; a stopped instance refuses SSH", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: "1 second", faults: [{ kind: "stopped", after: Duration.zero }] })
    const id = yield* createFor(emu, keyPair("s"))
    yield* TestClock.adjust("1 second")
    const got = yield* call(emu, "GET", `/compute/instances/${id}`)
    assert.strictEqual(got.json.status, "stopped")
    assert.notProperty(got.json, "ip")

    yield* emu.clearFaults
    yield* emu.addFaults([Either.getOrThrow(parseFault("stopped:1m"))])
    const pair = keyPair("later")
    const later = yield* createFor(emu, pair)
    yield* TestClock.adjust("1 second")
    assert.strictEqual((yield* call(emu, "GET", `/compute/instances/${later}`)).json.status, "ready")
    const client = yield* connect(emu, pair)
    const channel = yield* opened(client, "echo started; exec sleep 60")
    yield* Effect.async<void>((resume) => { channel.once("data", () => resume(Effect.void)) })
    const ended = yield* Effect.fork(collect(channel))
    yield* TestClock.adjust("1 minute")
    assert.strictEqual((yield* call(emu, "GET", `/compute/instances/${later}`)).json.status, "stopped")
    yield* Fiber.join(ended)
    assert.strictEqual(yield* refused(emu, pair), "client-authentication")
    assert.strictEqual((yield* call(emu, "DELETE", `/compute/instances/${later}`)).status, 204)
  }))

  it.scopedLive("slow-ssh: every new connection waits before the handshake", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: 0, faults: [{ kind: "slow-ssh", delay: Duration.millis(600) }] })
    const pair = keyPair("slow")
    yield* createFor(emu, pair)
    const [elapsed, r] = yield* Effect.timed(ssh(emu, pair, "echo ok"))
    assert.strictEqual(r.stdout, "ok\n")
    assert.isAtLeast(Duration.toMillis(elapsed), 600)
    yield* emu.clearFaults
    const [fast] = yield* Effect.timed(ssh(emu, pair, "true"))
    assert.isBelow(Duration.toMillis(fast), 600)
  }))

  it.scoped("faults are set at runtime through the admin endpoint; instances are listed with deleted ones", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: 0 })
    const added = yield* admin(emu, "POST", "/faults", { faults: ["fail:get:500:1", "slow-ssh:2s"] })
    assert.deepStrictEqual(added.json.faults, ["fail:get:500:1", "slow-ssh:2s"])
    const bad = yield* admin(emu, "POST", "/faults", { faults: ["explode"] })
    assert.strictEqual(bad.status, 400)
    assert.include(bad.json.error.message, "unknown fault")
    const id = (yield* create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAA" })).json.id
    assert.strictEqual((yield* call(emu, "GET", `/compute/instances/${id}`)).status, 500)
    assert.deepStrictEqual((yield* admin(emu, "GET", "/faults")).json.faults, ["slow-ssh:2s"])
    assert.deepStrictEqual((yield* admin(emu, "DELETE", "/faults")).json.faults, [])
    const replaced = yield* admin(emu, "POST", "/faults", { faults: ["never-ready"], replace: true })
    assert.deepStrictEqual(replaced.json.faults, ["never-ready"])

    assert.strictEqual((yield* admin(emu, "POST", `/instances/${id}/stop`)).status, 200)
    assert.strictEqual((yield* call(emu, "GET", `/compute/instances/${id}`)).json.status, "stopped")
    yield* call(emu, "DELETE", `/compute/instances/${id}`)
    assert.strictEqual((yield* admin(emu, "POST", `/instances/${id}/stop`)).status, 404)
    const listed = yield* admin(emu, "GET", "/instances")
    assert.deepInclude(listed.json.instances[0], { id, deleted: true, status: "stopped" })
  }))
})
