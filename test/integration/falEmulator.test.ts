/**
 * The fal Compute emulator over real sockets: its HTTP API against fal's documented contract,
 * its SSH gateway (one server, the login's key picks the instance), and every fault kind.
 * Time-dependent behaviour runs on the TestClock; only the slow-SSH check uses real time.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Either, Exit, Fiber, Redacted, Scope, TestClock } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { Client, type ClientChannel } from "ssh2"
import { generateEd25519KeyPair, type Ed25519KeyPair } from "../../src/adapters/shared/ed25519KeyPair.js"
import type { FalEmulatorOptions, RunningFalEmulator } from "../../src/app/cli/falEmulator.js"
import { formatFault, parseFault } from "../../src/emulator/fal/faults.js"
import { startFalEmulator } from "../../src/emulator/fal/startFalEmulator.js"
import { mapVirtualHome } from "../../src/emulator/fal/virtualHome.js"

const KEY = "test-admin-key-0123456789"

const start = (options: FalEmulatorOptions = {}) => startFalEmulator(options).pipe(Effect.provide(NodeContext.layer))

interface Reply {
  readonly status: number
  readonly headers: Headers
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any
}

interface CallOptions {
  readonly body?: unknown
  /** the Authorization header; default `Key <KEY>`, null for none */
  readonly authorization?: string | null
  readonly headers?: Record<string, string>
}

const call = (emu: RunningFalEmulator, method: string, path: string, options: CallOptions = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers }
    const authorization = options.authorization === undefined ? `Key ${KEY}` : options.authorization
    if (authorization !== null) headers["authorization"] = authorization
    if (options.body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json"
    const response = await fetch(`${emu.apiUrl}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) })
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, json: text === "" ? undefined : JSON.parse(text) }
  })

const admin = (emu: RunningFalEmulator, method: string, path: string, body?: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${emu.adminUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, json: (await response.json()) as any }
  })

const create = (emu: RunningFalEmulator, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(emu, "POST", "/compute/instances", { body, headers })

const keyPair = (name: string): Ed25519KeyPair => generateEd25519KeyPair(`fal-emulator-test ${name}`)

const createFor = (emu: RunningFalEmulator, pair: Ed25519KeyPair) =>
  Effect.map(create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: pair.public }), (r) => {
    assert.strictEqual(r.status, 201)
    return r.json.id as string
  })

const expectEnvelope = (reply: Reply, status: number, type: string) => {
  assert.strictEqual(reply.status, status)
  assert.strictEqual(reply.json.error.type, type)
  assert.isString(reply.json.error.message)
  assert.isString(reply.json.error.docs_url)
  assert.match(reply.json.error.request_id, /^req_[a-z0-9]{20}$/)
}

// ---- SSH through ssh2's Client --------------------------------------------------------

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const connect = (emu: RunningFalEmulator, pair: Ed25519KeyPair, username = "ubuntu") =>
  Effect.acquireRelease(
    Effect.async<Client, Error & { level?: string }>((resume) => {
      const client = new Client()
      client.once("ready", () => resume(Effect.succeed(client)))
      client.on("error", (err) => resume(Effect.fail(err)))
      client.connect({
        host: emu.sshHost, port: emu.sshPort, username, privateKey: pair.private, readyTimeout: 10_000,
        hostVerifier: (blob: Buffer) => blob.toString("base64") === emu.sshHostKey.base64
      })
      return Effect.sync(() => client.destroy())
    }),
    (client) => Effect.sync(() => client.end()))

const opened = (client: Client, command: string) =>
  Effect.async<ClientChannel, Error>((resume) => {
    client.exec(command, (err, channel) => resume(err ? Effect.fail(err) : Effect.succeed(channel)))
  })

const collect = (channel: ClientChannel) =>
  Effect.async<Ran>((resume) => {
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    channel.on("data", (d: Buffer) => out.push(d))
    channel.stderr.on("data", (d: Buffer) => err.push(d))
    channel.on("close", (code: number | null) =>
      resume(Effect.succeed({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })))
    channel.end()
  })

/**
 * Exits 99 before anything else runs unless the gateway maps `/home/ubuntu` (the second
 * spelling escapes the mapping), so a broken mapping never writes to this machine's real one.
 */
const MAPPED = `[ /home/ubuntu != /home/ub""untu ] || exit 99; `

/** One connection, one command, the connection closed again. */
const ssh = (emu: RunningFalEmulator, pair: Ed25519KeyPair, command: string, username = "ubuntu") =>
  Effect.scoped(Effect.flatMap(connect(emu, pair, username), (client) =>
    Effect.flatMap(opened(client, `${MAPPED}${command}`), collect)))

const refused = (emu: RunningFalEmulator, pair: Ed25519KeyPair, username = "ubuntu") =>
  Effect.scoped(connect(emu, pair, username)).pipe(
    Effect.flip,
    Effect.map((err) => err.level))

// ---- the API -----------------------------------------------------------------------------

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

// ---- SSH -------------------------------------------------------------------------------

describe("fal emulator SSH gateway", () => {
  it.scoped("lets the create key in once ready, into the instance's own dir, as any user", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: "5 seconds" })
    const pair = keyPair("login")
    const id = yield* createFor(emu, pair)
    assert.strictEqual(yield* refused(emu, pair), "client-authentication")
    yield* TestClock.adjust("5 seconds")
    const r = yield* ssh(emu, pair, "pwd; echo \"$HOME\"; echo hello > greeting.txt; ls")
    assert.strictEqual(r.code, 0)
    assert.strictEqual(r.stdout, `${emu.homeFor(id)}\n${emu.homeFor(id)}\ngreeting.txt\n`)
    assert.strictEqual(readFileSync(`${emu.homeFor(id)}/greeting.txt`, "utf8"), "hello\n")
    const other = yield* ssh(emu, pair, "exit 7", "root")
    assert.strictEqual(other.code, 7)
  }))

  it.scoped("maps /home/ubuntu to the instance's dir, so crabbox's default work root works", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: 0 })
    const pair = keyPair("root")
    const id = yield* createFor(emu, pair)
    const r = yield* ssh(emu, pair, "sh -c 'mkdir -p \"$1\" && echo synced > \"$1/file\"' x '/home/ubuntu/crabbox/cbx_1/repo'; cat /home/ubuntu/crabbox/cbx_1/repo/file")
    assert.strictEqual(r.stdout, "synced\n")
    assert.strictEqual(readFileSync(`${emu.workRootFor(id)}/cbx_1/repo/file`, "utf8"), "synced\n")
    assert.strictEqual(emu.virtualHome, "/home/ubuntu")
  }))

  it.scoped("keeps two instances apart: one key never sees the other's files", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: 0 })
    const a = keyPair("a")
    const b = keyPair("b")
    const idA = yield* createFor(emu, a)
    const idB = yield* createFor(emu, b)
    yield* ssh(emu, a, "mkdir -p /home/ubuntu/crabbox && echo secret-a > /home/ubuntu/crabbox/a.txt")
    const fromB = yield* ssh(emu, b, "ls -A /home/ubuntu; cat /home/ubuntu/crabbox/a.txt")
    assert.strictEqual(fromB.stdout, "")
    assert.notStrictEqual(fromB.code, 0)
    assert.strictEqual((yield* ssh(emu, a, "cat /home/ubuntu/crabbox/a.txt")).stdout, "secret-a\n")
    assert.deepStrictEqual(readdirSync(emu.homeFor(idB)), [])
    assert.notStrictEqual(emu.homeFor(idA), emu.homeFor(idB))
  }))

  it.scoped("one key on two instances: the user name picks the instance, otherwise the login is refused", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: 0 })
    const pair = keyPair("shared")
    const idA = yield* createFor(emu, pair)
    const idB = yield* createFor(emu, pair)
    assert.strictEqual(yield* refused(emu, pair), "client-authentication")
    assert.strictEqual((yield* ssh(emu, pair, "pwd", idB)).stdout, `${emu.homeFor(idB)}\n`)
    yield* call(emu, "DELETE", `/compute/instances/${idB}`)
    assert.strictEqual((yield* ssh(emu, pair, "pwd")).stdout, `${emu.homeFor(idA)}\n`)
  }))

  it.scoped("delete revokes the key: open sessions end, new logins are refused, the dir is gone", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: 0 })
    const pair = keyPair("revoke")
    const id = yield* createFor(emu, pair)
    const client = yield* connect(emu, pair)
    const channel = yield* opened(client, "echo started; exec sleep 60")
    yield* Effect.async<void>((resume) => { channel.once("data", () => resume(Effect.void)) })
    const ended = yield* Effect.fork(collect(channel))
    assert.strictEqual((yield* call(emu, "DELETE", `/compute/instances/${id}`)).status, 204)
    const r = yield* Fiber.join(ended)
    assert.notStrictEqual(r.code, 0)
    assert.strictEqual(yield* refused(emu, pair), "client-authentication")
    assert.isFalse(existsSync(emu.homeFor(id)))
  }))

  it.scoped("a key fal was never given is refused, and so is a password", () => Effect.gen(function* () {
    const emu = yield* start({ readyDelay: 0 })
    yield* createFor(emu, keyPair("given"))
    assert.strictEqual(yield* refused(emu, keyPair("stranger")), "client-authentication")
    const password = yield* Effect.async<string | undefined>((resume) => {
      const client = new Client()
      client.on("error", (err: Error & { level?: string }) => resume(Effect.succeed(err.level)))
      client.on("ready", () => { client.end(); resume(Effect.succeed("ready")) })
      client.connect({ host: emu.sshHost, port: emu.sshPort, username: "ubuntu", password: "ubuntu", readyTimeout: 10_000 })
      return Effect.sync(() => client.destroy())
    })
    assert.strictEqual(password, "client-authentication")
  }))
})

// ---- faults ------------------------------------------------------------------------------

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

describe("virtual home mapping", () => {
  it("rewrites /home/ubuntu only as a whole path prefix", () => {
    const home = "/tmp/e/instances/inst_1"
    assert.strictEqual(mapVirtualHome("cd '/home/ubuntu/crabbox' && ls /home/ubuntu", home), `cd '${home}/crabbox' && ls ${home}`)
    assert.strictEqual(mapVirtualHome("/home/ubuntu2 /x/home/ubuntu ~/home/ubuntu", home), "/home/ubuntu2 /x/home/ubuntu ~/home/ubuntu")
    assert.strictEqual(mapVirtualHome("wd=/home/ubuntu/a:/home/ubuntu", home), `wd=${home}/a:${home}`)
  })
})
