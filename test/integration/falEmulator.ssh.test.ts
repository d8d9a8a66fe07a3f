/**
 * The fal Compute emulator's SSH gateway over real sockets: one server, the login's key picks
 * the instance, /home/ubuntu maps to the instance's own dir. Readiness runs on the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { Client } from "ssh2"
import { mapVirtualHome } from "../../src/emulator/fal/virtualHome.js"
import { call, collect, connect, createFor, keyPair, opened, refused, ssh, start } from "../support/falEmulatorHarness.js"

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

describe("virtual home mapping", () => {
  it("rewrites /home/ubuntu only as a whole path prefix", () => {
    const home = "/tmp/e/instances/inst_1"
    assert.strictEqual(mapVirtualHome("cd '/home/ubuntu/crabbox' && ls /home/ubuntu", home), `cd '${home}/crabbox' && ls ${home}`)
    assert.strictEqual(mapVirtualHome("/home/ubuntu2 /x/home/ubuntu ~/home/ubuntu", home), "/home/ubuntu2 /x/home/ubuntu ~/home/ubuntu")
    assert.strictEqual(mapVirtualHome("wd=/home/ubuntu/a:/home/ubuntu", home), `wd=${home}/a:${home}`)
  })
})
