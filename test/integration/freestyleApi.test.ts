/**
 * Contract tests of the Freestyle HTTP adapter against a local server speaking the v1 API:
 * what goes on the wire (headers, bodies, escaping, pagination) and how answers are read
 * (exit codes, missing status, 404 on delete, redirects, errors that never carry the key).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Either, Exit, Option, Redacted } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import * as FreestyleHttpApi from "../../src/adapters/freestyle/FreestyleHttpApi.js"
import { normalizeFreestyleUrl } from "../../src/adapters/freestyle/endpoint.js"
import { FreestyleApis, type FreestyleApiService } from "../../src/ports/FreestyleApi.js"
import { type FreestyleServer, startFreestyleServer } from "../support/freestyleServer.js"

const KEY = "fsk-contract-canary-7f3a9c"

const withApi = <A, E>(url: string, use: (api: FreestyleApiService) => Effect.Effect<A, E>, key = KEY) =>
  Effect.runPromiseExit(Effect.gen(function* () {
    const apis = yield* FreestyleApis
    const api = yield* Effect.orDie(apis.connect({ apiUrl: url, apiUrlSource: "test", key: Redacted.make(key) }))
    return yield* use(api)
  }).pipe(Effect.provide(FreestyleHttpApi.layer), Effect.provide(NodeHttpClient.layer)))

const value = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected success, got ${JSON.stringify(exit.cause)}`)
  return exit.value
}

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (e === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return e
}

describe("Freestyle HTTP adapter (local v1 server)", () => {
  let server: FreestyleServer
  let other: FreestyleServer
  beforeAll(async () => {
    server = await startFreestyleServer({ key: KEY })
    other = await startFreestyleServer({ key: KEY })
  })
  afterAll(async () => {
    await server?.close()
    await other?.close()
  })
  beforeEach(() => {
    server.requests.length = 0
    for (const key of Object.keys(server.faults)) delete (server.faults as Record<string, unknown>)[key]
  })

  it("creates with the bearer key, JSON headers and an explicit empty port list, sizing only under template", async () => {
    const vm = value(await withApi(server.url, (api) => api.createVm({ name: "crabbox-demo-abc123", vcpus: Option.none(), memoryGB: Option.none() })))
    expect(vm.id).not.toBe("")
    const [create] = server.requests
    expect(create!.method).toBe("POST")
    expect(create!.url).toBe("/v1/vms")
    expect(create!.headers["authorization"]).toBe(`Bearer ${KEY}`)
    expect(create!.headers["accept"]).toBe("application/json")
    expect(String(create!.headers["content-type"])).toMatch(/^application\/json/)
    expect(create!.body).toEqual({ name: "crabbox-demo-abc123", ports: [] })

    value(await withApi(server.url, (api) => api.createVm({ name: "crabbox-demo-def456", vcpus: Option.some(4), memoryGB: Option.some(8) })))
    expect(server.requests[1]!.body).toEqual({ name: "crabbox-demo-def456", ports: [], template: { vcpuCount: 4, memSizeGb: 8 } })
  })

  it("pages the VM list with limit=100 until a short page", async () => {
    const before = server.vms.size
    for (let i = 0; i < 230 - before; i++) server.addVm(`vm-${i}`)
    const vms = value(await withApi(server.url, (api) => api.listVms))
    expect(vms).toHaveLength(230)
    expect(server.requests.map((r) => r.url)).toEqual([
      "/v1/vms?limit=100&offset=0", "/v1/vms?limit=100&offset=100", "/v1/vms?limit=100&offset=200"
    ])
  })

  it("treats a 404 on delete as already deleted, and a deleted VM on get as not-found (404 or VM_DELETED)", async () => {
    value(await withApi(server.url, (api) => api.deleteVm("vm-that-never-was")))
    expect(failure(await withApi(server.url, (api) => api.getVm("vm-that-never-was"))).kind).toBe("not-found")
    server.faults.missingVm = "500"
    const deleted = failure(await withApi(server.url, (api) => api.getVm("vm-that-never-was")))
    expect(deleted.kind).toBe("not-found")
    expect(deleted.code).toBe("VM_DELETED")
    value(await withApi(server.url, (api) => api.deleteVm("vm-that-never-was")))
  })

  it("passes the exit status through and never reads a missing status as success", async () => {
    const vm = server.addVm("crabbox-x-000001")
    const ran = value(await withApi(server.url, (api) => api.exec(vm.id, { command: "echo out; echo err >&2; exit 42", timeoutMs: Option.none() })))
    expect(ran.exitCode).toBe(42)
    expect(new TextDecoder().decode(ran.stdout)).toBe("out\n")
    expect(new TextDecoder().decode(ran.stderr)).toBe("err\n")
    expect(server.requests.at(-1)!.body).toEqual({ command: "echo out; echo err >&2; exit 42" })

    server.faults.omitStatusCode = true
    const e = failure(await withApi(server.url, (api) => api.exec(vm.id, { command: "true", timeoutMs: Option.none() })))
    expect(e.kind).toBe("decode")
    expect(e.message).toContain("no status code")
  })

  it("refuses a status code that is no exit status (outside 0-255) instead of passing it on", async () => {
    const vm = server.addVm("crabbox-x-000005")
    for (const code of [-1, 256, 1000]) {
      server.faults.execExit = { match: /true/, code }
      const e = failure(await withApi(server.url, (api) => api.exec(vm.id, { command: "true", timeoutMs: Option.none() })))
      expect(e.kind).toBe("decode")
      expect(e.message).toContain(`status code ${code} is not an exit status (0-255)`)
    }
    for (const code of [0, 255]) {
      server.faults.execExit = { match: /true/, code }
      expect(value(await withApi(server.url, (api) => api.exec(vm.id, { command: "true", timeoutMs: Option.none() }))).exitCode).toBe(code)
    }
  })

  it("sends timeoutMs and reads 408 EXEC_TIMED_OUT as a timeout", async () => {
    const vm = server.addVm("crabbox-x-000002")
    const e = failure(await withApi(server.url, (api) => api.exec(vm.id, { command: "sleep 5", timeoutMs: Option.some(300) })))
    expect(server.requests.at(-1)!.body).toEqual({ command: "sleep 5", timeoutMs: 300 })
    expect(e.kind).toBe("timeout")
    expect(e.code).toBe("EXEC_TIMED_OUT")
  })

  it("writes files base64-encoded to the whole path as one escaped segment", async () => {
    const vm = server.addVm("crabbox-x-000003")
    value(await withApi(server.url, (api) => api.writeFile(vm.id, "/tmp/crabbox upload.tgz", new Uint8Array([0, 1, 2, 255]))))
    const put = server.requests.at(-1)!
    expect(put.method).toBe("PUT")
    expect(put.url).toBe(`/v1/vms/${vm.id}/files/%2Ftmp%2Fcrabbox%20upload.tgz`)
    expect(put.body).toEqual({ content: "AAEC/w==", encoding: "base64" })
  })

  it("follows a same-origin redirect but refuses a cross-origin one without sending the key there", async () => {
    server.faults.redirect = { pathPrefix: "/v1/vms", location: `${other.url}/v1/vms`, status: 307 }
    const e = failure(await withApi(server.url, (api) => api.listVms))
    expect(e.kind).toBe("redirect")
    expect(e.message).toContain("cross-origin")
    expect(e.message).not.toContain(other.url)
    expect(other.requests).toHaveLength(0)

    const vm = server.addVm("crabbox-x-000004")
    server.faults.redirect = { pathPrefix: "/api/v1/vms", location: `/v1/vms/${vm.id}`, status: 307 }
    expect(value(await withApi(`${server.url}/api`, (api) => api.getVm(vm.id))).id).toBe(vm.id)
    expect(server.requests.map((r) => r.url).slice(-2)).toEqual([`/api/v1/vms/${vm.id}`, `/v1/vms/${vm.id}`])
    expect(server.requests.at(-1)!.headers["authorization"]).toBe(`Bearer ${KEY}`)

    // a POST may not be turned into a GET by a 302/303
    server.faults.redirect = { pathPrefix: "/v1/vms", location: "/elsewhere", status: 303 }
    expect(failure(await withApi(server.url, (api) => api.createVm({ name: "n", vcpus: Option.none(), memoryGB: Option.none() }))).kind).toBe("redirect")
  })

  it("keeps Freestyle's error code, explains refused keys and never repeats the key", async () => {
    server.faults.echoAuthInErrors = true
    server.faults.createError = { status: 403, body: { error: "CUSTOM_SIZING_NOT_ALLOWED", message: `plan cannot size VMs; key was ${KEY}` } }
    const sizing = failure(await withApi(server.url, (api) => api.createVm({ name: "n", vcpus: Option.some(2), memoryGB: Option.none() })))
    expect(sizing.code).toBe("CUSTOM_SIZING_NOT_ALLOWED")
    expect(sizing.message).not.toContain(KEY)

    const wrong = failure(await withApi(server.url, (api) => api.listVms, "fsk-wrong-key-0000"))
    expect(wrong.kind).toBe("auth")
    expect(wrong.status).toBe(401)
    expect(wrong.message).not.toContain("fsk-wrong-key-0000")
  })

  it("validates the endpoint before any request", () => {
    expect(normalizeFreestyleUrl("https://API.Example.test:443/v1/")).toEqual(Either.right("https://api.example.test/v1"))
    expect(normalizeFreestyleUrl("http://127.0.0.1:8080/api/")).toEqual(Either.right("http://127.0.0.1:8080/api"))
    expect(normalizeFreestyleUrl("http://[::1]:9/")).toEqual(Either.right("http://[::1]:9"))
    expect(normalizeFreestyleUrl("http://localhost:9")).toEqual(Either.right("http://localhost:9"))
    expect(normalizeFreestyleUrl("http://api.freestyle.sh")).toEqual(Either.left("must use HTTPS except for loopback development endpoints"))
    expect(normalizeFreestyleUrl("https://user:pw@api.freestyle.sh")).toEqual(Either.left("must not contain userinfo, query parameters, or a fragment"))
    expect(normalizeFreestyleUrl("https://api.freestyle.sh/?")).toEqual(Either.left("must not contain userinfo, query parameters, or a fragment"))
    expect(normalizeFreestyleUrl("https://api.freestyle.sh/#x")).toEqual(Either.left("must not contain userinfo, query parameters, or a fragment"))
    expect(normalizeFreestyleUrl("api.freestyle.sh")).toEqual(Either.left("must be an absolute HTTPS URL"))
    expect(normalizeFreestyleUrl("ftp://api.freestyle.sh")).toEqual(Either.left("must be an absolute HTTPS URL"))
  })
})
