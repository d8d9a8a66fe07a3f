/**
 * The delegated lease lifecycle with the real Freestyle backend and adapter against the
 * local v1 server, driven as an Effect program: Ctrl-C during the command still deletes a
 * fresh VM, a claim that cannot be written rolls the VM back, and `backend.run` with a
 * `New` lease (the library entry point) keeps the same rules.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, Exit, Fiber, Layer, Option, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as FreestyleHttpApi from "../../src/adapters/freestyle/FreestyleHttpApi.js"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import * as MemoryStdio from "../../src/adapters/memory/MemoryStdio.js"
import * as MemoryWorkspace from "../../src/adapters/memory/MemoryWorkspace.js"
import { makeFreestyleBackend } from "../../src/app/providers/freestyle/FreestyleBackend.js"
import { delegatedRunWorkflow } from "../../src/app/workflows/delegatedRun.js"
import { ClaimStoreError } from "../../src/domain/errors.js"
import { LeaseId } from "../../src/domain/ids.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"
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

describe("freestyle delegated lifecycle (Effect program, local v1 server)", () => {
  let server: FreestyleServer
  beforeAll(async () => { server = await startFreestyleServer({ key: KEY }) })
  afterAll(async () => { await server?.close() })

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
    const failingCreate = Layer.effect(ClaimStore, Effect.map(ClaimStore, (store) => ClaimStore.of({
      ...store,
      create: (claim) => Effect.fail(new ClaimStoreError({ operation: "create", path: `memory:${claim.leaseId}`, message: "disk full" }))
    }))).pipe(Layer.provide(MemoryClaimStore.layer))
    const exit = await Effect.runPromiseExit(Effect.gen(function* () {
      const backend = yield* makeFreestyleBackend(settings(server))
      return yield* backend.warmup({
        leaseId: LeaseId.make("cbx_00000000abcd"), slug: "doomed", slugRequested: true, keep: true,
        ttl: Duration.minutes(90), idleTimeout: Duration.minutes(30), repoRoot: "/memory/repo", serverType: Option.none()
      })
    }).pipe(Effect.provide(Layer.mergeAll(failingCreate, MemoryStdio.layer(), FreestyleHttpApi.layer.pipe(Layer.provide(NodeHttpClient.layer))))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(server.requests.filter((r) => r.method === "POST" && r.url === "/v1/vms")).not.toHaveLength(0)
    expect(server.vms.size).toBe(0)
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
