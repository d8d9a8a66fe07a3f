/**
 * The Python ModalClient adapter end to end: the real helper script runs under python3
 * against the fake `modal` package, so the script's own logic (create with tags, upload,
 * exec streaming and exit status, terminate, error kinds) is what these tests exercise.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Ref, Sink } from "effect"
import { readFileSync } from "node:fs"
import * as PythonModalClient from "../../src/adapters/modal/PythonModalClient.js"
import { type ModalClient, ModalClients } from "../../src/ports/ModalClient.js"
import { type FakeModal, makeFakeModal, recordingExecutor, type SpawnRecord } from "../support/fakeModal/fakeModal.js"

const setup = (options: { readonly faults?: ReadonlyArray<string>; readonly python?: string; readonly env?: Record<string, string> } = {}) => {
  const fake = makeFakeModal(options.faults === undefined ? {} : { faults: options.faults })
  const spawned: Array<SpawnRecord> = []
  const layer = PythonModalClient.layer.pipe(
    Layer.provide(recordingExecutor({ ...fake.env, ...options.env }, spawned)),
    Layer.provide(NodeContext.layer)
  )
  const client = Effect.map(ModalClients, (f) => f.make({ python: options.python ?? "python3" })).pipe(Effect.provide(layer))
  return { fake, spawned, client }
}

/** Another client over the same fake state, with these faults (a comma list) injected. */
const faultyClient = (fake: FakeModal, faults: string) =>
  Effect.map(ModalClients, (f) => f.make({ python: "python3" })).pipe(Effect.provide(PythonModalClient.layer.pipe(
    Layer.provide(recordingExecutor({ ...fake.env, FAKE_MODAL_FAULTS: faults }, [])),
    Layer.provide(NodeContext.layer)
  )))

const collector = Effect.gen(function* () {
  const out = yield* Ref.make<Array<Uint8Array>>([])
  const err = yield* Ref.make<Array<Uint8Array>>([])
  const text = (ref: Ref.Ref<Array<Uint8Array>>) => Effect.map(Ref.get(ref), (parts) => Buffer.concat(parts).toString("latin1"))
  return {
    stdout: Sink.forEach((b: Uint8Array) => Ref.update(out, (xs) => [...xs, b])),
    stderr: Sink.forEach((b: Uint8Array) => Ref.update(err, (xs) => [...xs, b])),
    outText: text(out),
    errText: text(err)
  }
})

const newSandbox = (client: ModalClient) =>
  client.create({
    app: "crabbox", image: "python:3.13-slim", workdir: "/workspace/crabbox", timeoutSeconds: 600,
    tags: { crabbox: "true", provider: "modal", lease: "cbx_0123456789ab" }
  })

const bash = (client: ModalClient, id: string, script: string, sinks: { stdout: Sink.Sink<void, Uint8Array>; stderr: Sink.Sink<void, Uint8Array> }, timeoutSeconds = 60) =>
  client.exec({ sandboxId: id, argv: ["bash", "-c", script], timeoutSeconds, ...sinks })

describe("PythonModalClient against the fake modal package", () => {
  it.effect("create passes image, timeout, workdir and tags at create; get and list see it", () => {
    const { fake, client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      assert.match(sb.id, /^sb-/)
      assert.deepStrictEqual(sb.tags, { crabbox: "true", provider: "modal", lease: "cbx_0123456789ab" })
      const created = fake.calls().find((c) => c.kind === "create")!
      assert.deepStrictEqual([created.timeout, created.workdir, created.image, created.tagsAtCreate], [600, "/workspace/crabbox", "python:3.13-slim", true])
      const got = yield* modal.get(sb.id)
      assert.isTrue(Option.isSome(got))
      assert.strictEqual(Option.getOrThrow(got).status, "running")
      const listed = yield* modal.list({ app: "crabbox", tags: { lease: "cbx_0123456789ab" } })
      assert.deepStrictEqual(listed.map((s) => s.id), [sb.id])
      assert.deepStrictEqual(yield* modal.list({ app: "crabbox", tags: { lease: "cbx_ffffffffffff" } }), [])
    })
  })

  it.effect("an old client without tags= at create gets its tags set right after", () => {
    const { fake, client } = setup({ faults: ["create-no-tags-kwarg"] })
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      assert.deepStrictEqual(fake.sandboxes()[0]!.tags, { crabbox: "true", provider: "modal", lease: "cbx_0123456789ab" })
      assert.strictEqual(fake.calls().find((c) => c.kind === "create")!.tagsAtCreate, false)
      assert.strictEqual(Option.getOrThrow(yield* modal.get(sb.id)).tags["lease"], "cbx_0123456789ab")
    })
  })

  it.effect("an old client whose set_tags fails: the untagged sandbox is terminated and its id reported", () => {
    const { fake, client } = setup({ faults: ["create-no-tags-kwarg", "set-tags"] })
    return Effect.gen(function* () {
      const modal = yield* client
      const error = yield* Effect.flip(newSandbox(modal))
      const [sandbox] = fake.sandboxes()
      assert.strictEqual(fake.sandboxes().length, 1)
      assert.isTrue(sandbox!.terminated)
      assert.strictEqual(error.sandboxId, sandbox!.id)
      assert.include(error.message, sandbox!.id)
      assert.include(error.message, "terminated")
    })
  })

  it.effect("an old client whose set_tags and terminate fail still reports the sandbox id", () => {
    const { fake, client } = setup({ faults: ["create-no-tags-kwarg", "set-tags", "terminate"] })
    return Effect.gen(function* () {
      const modal = yield* client
      const error = yield* Effect.flip(newSandbox(modal))
      const [sandbox] = fake.sandboxes()
      assert.isFalse(sandbox!.terminated)
      assert.strictEqual(error.sandboxId, sandbox!.id)
      assert.include(error.message, "injected terminate failure")
    })
  })

  it.effect("a TypeError that is not about tags= is not retried: one create, one sandbox", () => {
    const { fake, client } = setup({ faults: ["create-typeerror-after"] })
    return Effect.gen(function* () {
      const modal = yield* client
      const error = yield* Effect.flip(newSandbox(modal))
      assert.strictEqual(error.kind, "transport")
      assert.include(error.message, "TypeError")
      assert.strictEqual(fake.calls().filter((c) => c.kind === "create").length, 1)
      assert.strictEqual(fake.sandboxes().length, 1)
    })
  })

  it.effect("an error that merely mentions a token is not an auth failure", () => {
    const { client } = setup({ faults: ["create-token-text"] })
    return Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.flatMap(client, newSandbox))
      assert.strictEqual(error.kind, "transport")
    })
  })

  it.effect("a tag read that fails fails get and list instead of passing for an untagged sandbox", () => {
    const { fake, client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      const broken = yield* faultyClient(fake, "get-tags")
      const listed = yield* Effect.flip(broken.list({ app: "crabbox", tags: { lease: "cbx_0123456789ab" } }))
      assert.strictEqual(listed.kind, "transport")
      assert.include(listed.message, "injected get_tags failure")
      assert.strictEqual((yield* Effect.flip(broken.get(sb.id))).kind, "transport")
    })
  })

  it.effect("a poll that fails fails get instead of reporting running", () => {
    const { fake, client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      const broken = yield* faultyClient(fake, "poll")
      const error = yield* Effect.flip(broken.get(sb.id))
      assert.strictEqual(error.kind, "transport")
      assert.include(error.message, "injected poll failure")
    })
  })

  it.effect("terminate: not-found only when Modal knows no such sandbox, not for any NotFoundError or 404 text", () => {
    return Effect.gen(function* () {
      const gone = setup()
      const unknown = yield* Effect.flip(Effect.flatMap(gone.client, (m) => m.terminate("sb-doesnotexist")))
      assert.strictEqual(unknown.kind, "not-found")
      for (const fault of ["terminate-not-found", "terminate-404"]) {
        const { fake, client } = setup()
        const sb = yield* Effect.flatMap(client, newSandbox)
        const broken = yield* faultyClient(fake, fault)
        const error = yield* Effect.flip(broken.terminate(sb.id))
        assert.strictEqual(error.kind, "transport", fault)
      }
    })
  })

  it.effect("an exec without an exit status fails instead of passing for exit 0", () => {
    const { client } = setup({ faults: ["exec-no-status"] })
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      const error = yield* Effect.flip(bash(modal, sb.id, "exit 0", yield* collector))
      assert.strictEqual(error.kind, "transport")
      assert.include(error.message, "no exit status")
    })
  })

  it.effect("listing an app that does not exist lists nothing and creates no app", () => {
    const { fake, client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      assert.deepStrictEqual(yield* modal.list({ app: "nobody", tags: {} }), [])
      assert.isFalse(fake.calls().some((c) => c.kind === "app-created"))
    })
  })

  it.effect("get of an unknown id is None", () => {
    const { client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      assert.isTrue(Option.isNone(yield* modal.get("sb-doesnotexist")))
    })
  })

  it.effect("upload puts the bytes at the remote path, creating parents", () => {
    const { fake, client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      const bytes = new Uint8Array([0, 1, 2, 255, 10, 13])
      yield* modal.upload({ sandboxId: sb.id, remotePath: "/tmp/deep/dir/blob.bin", content: bytes })
      assert.deepStrictEqual([...readFileSync(fake.hostPath(sb.id, "/tmp/deep/dir/blob.bin"))], [...bytes])
    })
  })

  it.effect("exec streams stdout and stderr as bytes and returns the exit status, 125 included", () => {
    const { client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      const sinks = yield* collector
      const outcome = yield* bash(modal, sb.id, "printf 'out\\377\\000x'; echo err >&2; pwd; exit 7", sinks)
      assert.deepStrictEqual(outcome, { _tag: "Exited", code: 7 })
      const out = yield* sinks.outText
      assert.isTrue(out.startsWith("out\xff\x00x"))
      assert.isTrue(out.trimEnd().endsWith("/workspace/crabbox"))
      assert.strictEqual(yield* sinks.errText, "err\n")
      const again = yield* collector
      assert.deepStrictEqual(yield* bash(modal, sb.id, "exit 125", again), { _tag: "Exited", code: 125 })
    })
  })

  it.effect("output arrives while the remote process is still running", () => {
    const { client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      const seen = yield* Ref.make<Array<number>>([])
      // wall-clock time: it.effect's TestClock stands still
      const stamp = Sink.forEach((_: Uint8Array) => Effect.flatMap(Effect.sync(() => Date.now()), (t) => Ref.update(seen, (xs) => [...xs, t])))
      const start = Date.now()
      yield* bash(modal, sb.id, "echo first; sleep 1.5; echo second", { stdout: stamp, stderr: Sink.drain })
      const times = yield* Ref.get(seen)
      assert.isAtLeast(times.length, 2)
      assert.isBelow(times[0]! - start, times[times.length - 1]! - start - 1000)
    })
  }, 30_000)

  it.effect("an exec past its deadline is TimedOut, not an exit status", () => {
    const { client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      assert.deepStrictEqual(yield* bash(modal, sb.id, "sleep 30", yield* collector, 1), { _tag: "TimedOut" })
    })
  }, 30_000)

  it.effect("terminate finishes the sandbox: get says finished, list leaves it out", () => {
    const { fake, client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      yield* modal.terminate(sb.id)
      assert.isTrue(fake.sandboxes()[0]!.terminated)
      assert.strictEqual(Option.getOrThrow(yield* modal.get(sb.id)).status, "finished")
      assert.deepStrictEqual(yield* modal.list({ app: "crabbox", tags: {} }), [])
    })
  })

  it.effect("a lost piece of output fails the exec instead of passing for a complete run", () => {
    const { client } = setup({ faults: ["exec-stream"] })
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      const error = yield* Effect.flip(bash(modal, sb.id, "echo one; sleep 0.2; echo two", yield* collector))
      assert.strictEqual(error.kind, "transport")
      assert.include(error.message, "stdout copy failed")
    })
  })

  it.effect("error kinds: auth refused, python missing, modal not importable", () => {
    return Effect.gen(function* () {
      const auth = setup({ faults: ["auth"] })
      const refused = yield* Effect.flip(Effect.flatMap(auth.client, newSandbox))
      assert.strictEqual(refused.kind, "auth")
      const noPython = setup({ python: "/nonexistent/python3" })
      const missing = yield* Effect.flip(Effect.flatMap(noPython.client, newSandbox))
      assert.strictEqual(missing.kind, "missing-client")
      assert.include(missing.message, "--modal-python")
      const noModal = setup({ env: { PYTHONPATH: "/nonexistent" } })
      const unimportable = yield* Effect.flip(Effect.flatMap(noModal.client, newSandbox))
      assert.strictEqual(unimportable.kind, "missing-client")
      assert.include(unimportable.message, "pip install modal")
    })
  })

  it.effect("no spawned argv holds the token or the remote command; the token reaches the client through its environment", () => {
    const secret = "as-secret-token-value-123"
    const { fake, spawned, client } = setup({ env: { MODAL_TOKEN_ID: "ak-id-456", MODAL_TOKEN_SECRET: secret } })
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      yield* bash(modal, sb.id, "echo user-command-text-789", yield* collector)
      yield* modal.terminate(sb.id)
      const processes = fake.calls().filter((c) => c.kind === "process")
      assert.strictEqual(processes.length, 3)
      assert.isTrue(processes.every((p) => p.tokenInEnv === true))
      for (const argv of [...spawned.map((s) => s.argv), ...processes.map((p) => p.argv!)]) {
        assert.strictEqual(argv.length, 2, JSON.stringify(argv))
        for (const word of argv) {
          for (const banned of [secret, "ak-id-456", "user-command-text-789", sb.id]) assert.notInclude(word, banned)
        }
      }
      assert.strictEqual(spawned.length, 3)
    })
  })

  it.effect("the helper script and the uploaded file live in a private temp dir that is gone afterwards", () => {
    const { fake, spawned, client } = setup()
    return Effect.gen(function* () {
      const modal = yield* client
      const sb = yield* newSandbox(modal)
      yield* modal.upload({ sandboxId: sb.id, remotePath: "/tmp/x", content: new Uint8Array([1]) })
      const { existsSync } = yield* Effect.promise(() => import("node:fs"))
      for (const s of spawned) assert.isFalse(existsSync(s.argv[1]!), s.argv[1])
      assert.isTrue(fake.calls().some((c) => c.kind === "upload" && c.remote === "/tmp/x"))
    })
  })
})
