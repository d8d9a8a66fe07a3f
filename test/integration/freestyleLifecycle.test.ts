/**
 * The delegated lease lifecycle with the real Freestyle backend and adapter against the
 * local v1 server, driven as an Effect program: Ctrl-C during the command still deletes a
 * fresh VM, a claim that cannot be written rolls the VM back, a create whose answer is lost
 * (timeout, dropped connection) finds its VM by name and deletes it or keeps a recovery
 * claim, and `backend.run` with a `New` lease (the library entry point) keeps the same rules.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, Exit, Fiber, Layer, Option, Redacted } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import * as FreestyleHttpApi from "../../src/adapters/freestyle/FreestyleHttpApi.js"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import * as MemoryStdio from "../../src/adapters/memory/MemoryStdio.js"
import * as MemoryWorkspace from "../../src/adapters/memory/MemoryWorkspace.js"
import { makeFreestyleBackend } from "../../src/app/providers/freestyle/FreestyleBackend.js"
import { delegatedRunWorkflow } from "../../src/app/workflows/delegatedRun.js"
import { ClaimStoreError } from "../../src/domain/errors.js"
import { LeaseId } from "../../src/domain/ids.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"
import { FreestyleApiError, FreestyleApis } from "../../src/ports/FreestyleApi.js"
import { type FreestyleServer, startFreestyleServer } from "../support/freestyleServer.js"

const KEY = "fsk-lifecycle-canary-31c9"

const settings = (server: FreestyleServer) => ({
  apiUrl: server.url, apiUrlSource: "test", workspace: "/workspace/crabbox",
  vcpus: Option.none(), memoryGB: Option.none(), key: Option.some(Redacted.make(KEY)),
  ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30)
})

const services = Layer.mergeAll(
  MemoryClaimStore.layer,
  MemoryStdio.layer(),
  FreestyleHttpApi.layer.pipe(Layer.provide(NodeHttpClient.layer))
)

const runInput = (argv: ReadonlyArray<string>) => ({
  workspace: MemoryWorkspace.layer({ "README.md": "# memory\n" }),
  argv, shell: false, id: Option.none(), reclaim: false,
  newLease: { slug: Option.none(), keep: false, ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30), repoRoot: "/memory/repo", serverType: Option.none() },
  keepOnFailure: false, noSync: false, syncOnly: false, forceSyncLarge: false, fullResync: false, excludes: [], env: {}, timingJson: false
})

const acquire = (leaseId: string, slug: string) => ({
  leaseId: LeaseId.make(leaseId), slug, slugRequested: true, keep: true,
  ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30), repoRoot: "/memory/repo", serverType: Option.none()
})

const postedNames = (server: FreestyleServer) =>
  server.requests.filter((r) => r.method === "POST" && r.url === "/v1/vms").map((r) => (r.body as { name: string }).name)

const vmsNamed = (server: FreestyleServer, name: string | undefined) => [...server.vms.values()].filter((v) => v.name === name)

const failureMessage = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? String((exit.cause.error as { message?: unknown }).message) : ""

describe("freestyle delegated lifecycle (Effect program, local v1 server)", () => {
  let server: FreestyleServer
  beforeAll(async () => { server = await startFreestyleServer({ key: KEY }) })
  afterAll(async () => { await server?.close() })
  beforeEach(() => {
    for (const key of Object.keys(server.faults)) delete (server.faults as Record<string, unknown>)[key]
  })

  it("Ctrl-C while the command runs still deletes the fresh VM and forgets its claim", async () => {
    const exit = await Effect.runPromiseExit(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      const fiber = yield* Effect.fork(delegatedRunWorkflow(backend, runInput(["sleep", "3"])))
      yield* Effect.sleep("50 millis").pipe(
        Effect.repeat({ until: () => server.requests.some((r) => String((r.body as { command?: unknown } | undefined)?.command).includes("sleep")) }),
        Effect.timeout("20 seconds"))
      yield* Fiber.interrupt(fiber)
      return yield* (yield* ClaimStore).list
    }).pipe(Effect.provide(services)))
    expect(Exit.isSuccess(exit) && exit.value).toEqual([])
    expect(server.vms.size).toBe(0)
    expect(server.requests.at(-1)!.method).toBe("DELETE")
  })

  it("a claim that cannot be written deletes the VM it was for", async () => {
    // the create-intent claim is written; the lease's own (fsb_) claim is not
    const failingCreate = Layer.effect(ClaimStore, Effect.map(ClaimStore, (store) => ClaimStore.of({
      ...store,
      create: (claim) => claim.leaseId.startsWith("fsb_")
        ? Effect.fail(new ClaimStoreError({ operation: "create", path: `memory:${claim.leaseId}`, message: "disk full" }))
        : store.create(claim)
    }))).pipe(Layer.provide(MemoryClaimStore.layer))
    const exit = await Effect.runPromiseExit(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      const warmed = yield* Effect.exit(backend.warmup(acquire("cbx_00000000abcd", "doomed")))
      return { warmed, claims: yield* (yield* ClaimStore).list }
    }).pipe(Effect.provide(Layer.mergeAll(failingCreate, MemoryStdio.layer(), FreestyleHttpApi.layer.pipe(Layer.provide(NodeHttpClient.layer))))))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(Exit.isSuccess(exit) && Exit.isFailure(exit.value.warmed)).toBe(true)
    expect(Exit.isSuccess(exit) && exit.value.claims).toEqual([])
    expect(server.requests.filter((r) => r.method === "POST" && r.url === "/v1/vms")).not.toHaveLength(0)
    expect(server.vms.size).toBe(0)
  })

  it("writes a create-intent claim before the create: if it cannot be written, nothing is created", async () => {
    const before = postedNames(server).length
    const failingCreate = Layer.effect(ClaimStore, Effect.map(ClaimStore, (store) => ClaimStore.of({
      ...store,
      create: (claim) => Effect.fail(new ClaimStoreError({ operation: "create", path: `memory:${claim.leaseId}`, message: "disk full" }))
    }))).pipe(Layer.provide(MemoryClaimStore.layer))
    const exit = await Effect.runPromiseExit(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      return yield* backend.warmup(acquire("cbx_00000000abce", "never"))
    }).pipe(Effect.provide(Layer.mergeAll(failingCreate, MemoryStdio.layer(), FreestyleHttpApi.layer.pipe(Layer.provide(NodeHttpClient.layer))))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(postedNames(server)).toHaveLength(before)
  })

  it("a create whose connection drops after the request was sent finds its VM by name and deletes it", async () => {
    server.faults.createReset = true
    const exit = await Effect.runPromiseExit(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      const warmed = yield* Effect.exit(backend.warmup(acquire("cbx_0000000000a1", "reset")))
      return { warmed, claims: yield* (yield* ClaimStore).list }
    }).pipe(Effect.provide(services)))
    const name = postedNames(server).at(-1)
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isFailure(exit)) return
    expect(Exit.isFailure(exit.value.warmed)).toBe(true)
    expect(failureMessage(exit.value.warmed)).toContain("was deleted again")
    expect(vmsNamed(server, name)).toEqual([])
    expect(server.requests.at(-1)!.method).toBe("DELETE")
    expect(exit.value.claims).toEqual([])
  })

  it("a create that timed out after Freestyle made the VM deletes that VM instead of losing it", async () => {
    // the adapter's create: the request is carried out, then the client gives up on the answer
    const timingOut = Layer.effect(FreestyleApis, Effect.map(FreestyleApis, (apis) => FreestyleApis.of({
      connect: (s) => Effect.map(apis.connect(s), (api) => ({
        ...api,
        createVm: (request) => api.createVm(request).pipe(Effect.zipRight(Effect.fail(new FreestyleApiError({
          operation: "create vm", kind: "timeout", message: "freestyle create vm: no answer within 10m"
        }))))
      }))
    }))).pipe(Layer.provide(FreestyleHttpApi.layer.pipe(Layer.provide(NodeHttpClient.layer))))
    const exit = await Effect.runPromiseExit(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      const warmed = yield* Effect.exit(backend.warmup(acquire("cbx_0000000000a2", "slow")))
      return { warmed, claims: yield* (yield* ClaimStore).list }
    }).pipe(Effect.provide(Layer.mergeAll(MemoryClaimStore.layer, MemoryStdio.layer(), timingOut))))
    const name = postedNames(server).at(-1)
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isFailure(exit)) return
    expect(failureMessage(exit.value.warmed)).toContain("no answer within 10m")
    expect(vmsNamed(server, name)).toEqual([])
    expect(exit.value.claims).toEqual([])
  })

  it("keeps a recovery claim when the lost create cannot be checked; list shows it with its VM and stop deletes that VM", async () => {
    server.faults.createReset = true
    server.faults.listError = { status: 503, body: { error: "UNAVAILABLE", message: "try later" } }
    const out = await Effect.runPromise(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      const store = yield* ClaimStore
      const warmed = yield* Effect.exit(backend.warmup(acquire("cbx_0000000000a3", "unsure")))
      const kept = yield* store.list
      const name = postedNames(server).at(-1)
      const vm = vmsNamed(server, name)[0]
      delete server.faults.listError
      delete server.faults.createReset
      const listed = yield* backend.list
      const status = yield* backend.status({ id: "cbx_0000000000a3", repoRoot: "/memory/repo", reclaim: false, readOnly: true })
      const stopped = yield* backend.stop({ id: "cbx_0000000000a3", repoRoot: "/memory/repo", reclaim: false, readOnly: true })
      return { warmed, kept, name, vm, listed, status, stopped, after: yield* store.list }
    }).pipe(Effect.provide(services)))
    expect(failureMessage(out.warmed)).toContain(`crabbox stop --provider freestyle --freestyle-api-url '${server.url}' cbx_0000000000a3`)
    expect(out.kept).toHaveLength(1)
    expect(out.kept[0]).toMatchObject({ leaseId: "cbx_0000000000a3", state: "recovery", labels: { vm_name: out.name } })
    expect(out.vm).toBeDefined()
    // one row for that VM: the claim, with the VM's id and state, not also an unclaimed VM
    expect(out.listed.filter((v) => v.cloudId === out.vm!.id)).toEqual([
      expect.objectContaining({ leaseId: "cbx_0000000000a3", status: "running" })
    ])
    expect(out.status.status).toBe("running")
    expect(out.stopped).toMatchObject({ leaseId: "cbx_0000000000a3", cloudId: out.vm!.id, status: "deleted" })
    expect(server.vms.has(out.vm!.id)).toBe(false)
    expect(out.after).toEqual([])
  })

  it("backend.run with a New lease runs, passes the exit code back and releases the VM", async () => {
    const result = await Effect.runPromise(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      const archive = { bytes: new Uint8Array(yield* Effect.promise(gzipEmptyTar)), files: 0, rawBytes: 0 }
      const r = yield* backend.run({
        lease: { _tag: "New", acquire: { leaseId: LeaseId.make("cbx_00000000beef"), slug: "library", keep: false, ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30), repoRoot: "/memory/repo", serverType: Option.none() } },
        argv: ["sh", "-c", "exit 9"], shell: false, env: {},
        sync: { skip: false, only: false, forceLarge: false, archive },
        keepOnFailure: false
      })
      return { r, claims: yield* (yield* ClaimStore).list }
    }).pipe(Effect.provide(services)))
    expect(result.r.exitCode).toBe(9)
    expect(result.r.released).toBe(true)
    expect(result.r.lease.leaseId).toMatch(/^fsb_/)
    expect(result.claims).toEqual([])
    expect(server.vms.size).toBe(0)
  })
})

/** An empty tar (two zero blocks), gzipped. */
const gzipEmptyTar = async (): Promise<ArrayBuffer> => {
  const { gzipSync } = await import("node:zlib")
  const gz = gzipSync(Buffer.alloc(1024))
  return gz.buffer.slice(gz.byteOffset, gz.byteOffset + gz.byteLength) as ArrayBuffer
}
