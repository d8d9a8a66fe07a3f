/**
 * The modal backend through its DelegatedRunBackend interface, over the real Python
 * adapter and helper script, the fake `modal` package, an in-memory claim store and
 * Stdio. The archive comes from the core's own archive builder over an in-memory tree.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import * as MemoryClaimStore from "../../src/adapters/memory/MemoryClaimStore.js"
import * as MemoryStdio from "../../src/adapters/memory/MemoryStdio.js"
import { MemoryStdioOutput } from "../../src/adapters/memory/MemoryStdio.js"
import * as MemoryWorkspace from "../../src/adapters/memory/MemoryWorkspace.js"
import * as PythonModalClient from "../../src/adapters/modal/PythonModalClient.js"
import type { AcquireRequest, DelegatedRunRequest, SyncArchive } from "../../src/app/providers/backend.js"
import { makeModalBackend } from "../../src/app/providers/modal/ModalBackend.js"
import { MODAL_DEFAULTS, type ModalSettings } from "../../src/app/providers/modal/settings.js"
import { buildSyncArchive } from "../../src/app/workflows/delegatedArchive.js"
import { exitReport } from "../../src/app/cli/exitCodes.js"
import { LeaseId } from "../../src/domain/ids.js"
import { ClaimStore } from "../../src/ports/ClaimStore.js"
import { ModalClients } from "../../src/ports/ModalClient.js"
import { type FakeModal, makeFakeModal, recordingExecutor, type SpawnRecord } from "../support/fakeModal/fakeModal.js"

const REPO = "/home/dev/demo-repo"
const TOKEN_SECRET = "as-modal-token-secret-value"

interface Fixture {
  readonly fake: FakeModal
  readonly spawned: ReadonlyArray<SpawnRecord>
  readonly layer: Layer.Layer<ClaimStore | MemoryStdioOutput | import("../../src/ports/Stdio.js").Stdio | ModalClients>
}

const fixture = (options: { readonly faults?: ReadonlyArray<string> } = {}): Fixture => {
  const fake = makeFakeModal(options)
  const spawned: Array<SpawnRecord> = []
  const modal = PythonModalClient.layer.pipe(
    Layer.provide(recordingExecutor({ ...fake.env, MODAL_TOKEN_ID: "ak-token-id", MODAL_TOKEN_SECRET: TOKEN_SECRET }, spawned)),
    Layer.provide(NodeContext.layer)
  )
  return { fake, spawned, layer: Layer.mergeAll(MemoryClaimStore.layer, MemoryStdio.layer(), modal) }
}

const settings = (overrides: Partial<ModalSettings> = {}): ModalSettings => ({ ...MODAL_DEFAULTS, ...overrides })

let counter = 0
const acquireRequest = (overrides: Partial<AcquireRequest> = {}): AcquireRequest => {
  counter += 1
  const leaseId = LeaseId.make(`cbx_${counter.toString(16).padStart(12, "0")}`)
  return {
    leaseId, slug: `lease-${counter}`, keep: false, ttl: Duration.minutes(30), idleTimeout: Duration.minutes(10),
    repoRoot: REPO, serverType: Option.none(), ...overrides
  }
}

const archiveOf = (files: Record<string, MemoryWorkspace.MemoryFile>) =>
  buildSyncArchive({ excludes: [], forceLarge: false, limitBytes: 64 * 1024 * 1024, onProgress: () => Effect.void }).pipe(
    Effect.provide(MemoryWorkspace.layer(files, { root: REPO })))

const runRequest = (
  id: string,
  { archive, only = false, ...overrides }: Partial<Omit<DelegatedRunRequest, "sync">> & { readonly archive?: SyncArchive; readonly only?: boolean } = {}
): DelegatedRunRequest => ({
  lease: { _tag: "Existing", resolve: { id, repoRoot: REPO, reclaim: false } },
  argv: ["true"],
  shell: false,
  env: {},
  sync: { skip: archive === undefined, only, forceLarge: false, ...(archive === undefined ? {} : { archive }) },
  keepOnFailure: false,
  ...overrides
})

const backendOf = (overrides: Partial<ModalSettings> = {}) => makeModalBackend(settings(overrides))

const output = Effect.flatMap(MemoryStdioOutput, (o) => Effect.all({ out: o.stdoutText, err: o.stderrText, lines: o.err }))

/** Every argv a local process was started with, seen from both ends (the executor and the child itself). */
const allArgv = (f: Fixture) => [...f.spawned.map((s) => s.argv), ...f.fake.calls().filter((c) => c.kind === "process").map((c) => c.argv!)]

const claimsOf = Effect.flatMap(ClaimStore, (c) => c.list)

describe("modal backend: warmup", () => {
  it.live("creates a tagged sandbox with the TTL as timeout and the workdir, and a ready claim", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const request = acquireRequest({ keep: true, ttl: Duration.hours(2) })
      const view = yield* backend.warmup(request)
      const [sandbox] = f.fake.sandboxes()
      assert.strictEqual(view.cloudId, sandbox!.id)
      assert.deepStrictEqual([view.leaseId, view.slug, view.provider, view.status, view.keep], [request.leaseId, request.slug, "modal", "running", true])
      assert.deepStrictEqual([sandbox!.timeout, sandbox!.workdir, sandbox!.image], [7200, "/workspace/crabbox", "python:3.13-slim"])
      const { expires_at, ...tags } = sandbox!.tags
      assert.deepStrictEqual(tags, {
        crabbox: "true", provider: "modal", lease: request.leaseId, slug: request.slug, keep: "true",
        app: "crabbox", image: "python:3.13-slim", repo: "demo-repo"
      })
      assert.match(expires_at!, /^\d+$/)
      const [claim] = yield* claimsOf
      assert.deepStrictEqual([claim!.state, claim!.cloudId, claim!.providerScope, claim!.ttlSeconds], ["ready", sandbox!.id, "modal:app=crabbox", 7200])
      const { lines } = yield* output
      assert.include(lines.join("\n"), `provisioning provider=modal lease=${request.leaseId} slug=${request.slug} app=crabbox image=python:3.13-slim timeout=7200s`)
    }).pipe(Effect.provide(f.layer))
  })

  it.live("--type is refused before anything is created (exit 2)", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const error = yield* Effect.flip(backend.warmup(acquireRequest({ serverType: Option.some("gpu") })))
      assert.strictEqual(error._tag, "UnsupportedFeature")
      assert.strictEqual(exitReport(error).code, 2)
      assert.include(exitReport(error).message, "--type")
      assert.deepStrictEqual(f.fake.calls(), [])
      assert.deepStrictEqual(yield* claimsOf, [])
    }).pipe(Effect.provide(f.layer))
  })

  it.live("a failed create leaves no claim and no sandbox; the error says what failed (exit 1)", () => {
    const f = fixture({ faults: ["create"] })
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const error = yield* Effect.flip(backend.warmup(acquireRequest()))
      assert.strictEqual(error._tag, "ProviderError")
      assert.strictEqual(exitReport(error).code, 1)
      assert.include(exitReport(error).message, "injected create failure")
      assert.deepStrictEqual(yield* claimsOf, [])
      assert.deepStrictEqual(f.fake.sandboxes(), [])
    }).pipe(Effect.provide(f.layer))
  })

  it.live("refused credentials and a missing client are exit 3 with the fix", () => {
    const f = fixture({ faults: ["auth"] })
    return Effect.gen(function* () {
      const auth = yield* Effect.flip((yield* backendOf()).warmup(acquireRequest()))
      assert.strictEqual(exitReport(auth).code, 3)
      assert.include(exitReport(auth).message, "MODAL_TOKEN_ID")
      const missing = yield* Effect.flip((yield* backendOf({ python: "/nonexistent/python3" })).warmup(acquireRequest()))
      assert.strictEqual(exitReport(missing).code, 3)
      assert.include(exitReport(missing).message, "--modal-python")
      assert.deepStrictEqual(yield* claimsOf, [])
    }).pipe(Effect.provide(f.layer))
  })
})

describe("modal backend: run in a lease", () => {
  it.live("syncs the archive into the workdir, streams output, passes the exit code back", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      const archive = yield* archiveOf({ "README.md": "# demo\n", "src/run.sh": { content: "echo ran in $(basename $PWD)\necho oops >&2\nexit 3\n", executable: true } })
      const result = yield* backend.run(runRequest(lease.slug, { archive, argv: ["./src/run.sh"] }))
      assert.strictEqual(result.exitCode, 3)
      assert.strictEqual(result.workdir, "/workspace/crabbox")
      assert.isFalse(result.released)
      const { out, err } = yield* output
      assert.strictEqual(out, "ran in crabbox\n")
      assert.include(err, "oops\n")
      const workdir = f.fake.hostPath(lease.cloudId!, "/workspace/crabbox")
      assert.deepStrictEqual(readdirSync(workdir).sort(), ["README.md", "src"])
      assert.strictEqual(readFileSync(`${workdir}/README.md`, "utf8"), "# demo\n")
      // the uploaded archive and the staging directories are gone
      assert.deepStrictEqual(readdirSync(f.fake.hostPath(lease.cloudId!, "/tmp")), [])
      assert.deepStrictEqual(readdirSync(f.fake.hostPath(lease.cloudId!, "/workspace")), ["crabbox"])
      const [claim] = yield* claimsOf
      assert.strictEqual(claim!.state, "ready")
    }).pipe(Effect.provide(f.layer))
  })

  it.live("a second sync replaces the tree: a file deleted locally is gone remotely", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      const workdir = f.fake.hostPath(lease.cloudId!, "/workspace/crabbox")
      yield* backend.run(runRequest(lease.leaseId, { archive: yield* archiveOf({ "a.txt": "a", "b.txt": "b" }), only: true }))
      assert.deepStrictEqual(readdirSync(workdir).sort(), ["a.txt", "b.txt"])
      yield* backend.run(runRequest(lease.leaseId, { archive: yield* archiveOf({ "a.txt": "a2" }) }))
      assert.deepStrictEqual(readdirSync(workdir), ["a.txt"])
      assert.strictEqual(readFileSync(`${workdir}/a.txt`, "utf8"), "a2")
    }).pipe(Effect.provide(f.layer))
  })

  it.live("a broken archive fails the sync (exit 6) and leaves the previous workdir untouched", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      yield* backend.run(runRequest(lease.leaseId, { archive: yield* archiveOf({ "keep.txt": "kept" }) }))
      const broken: SyncArchive = { bytes: new TextEncoder().encode("not a tarball"), files: 1, rawBytes: 13 }
      const error = yield* Effect.flip(backend.run(runRequest(lease.leaseId, { archive: broken, argv: ["touch", "should-not-run"] })))
      assert.strictEqual(error._tag, "SyncError")
      assert.strictEqual(exitReport(error).code, 6)
      const workdir = f.fake.hostPath(lease.cloudId!, "/workspace/crabbox")
      assert.deepStrictEqual(readdirSync(workdir), ["keep.txt"])
      assert.deepStrictEqual(readdirSync(f.fake.hostPath(lease.cloudId!, "/tmp")), [])
    }).pipe(Effect.provide(f.layer))
  })

  it.live("--sync-only syncs and runs nothing; --no-sync only makes the workdir", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf({ workdir: "/srv/app/work" })
      const lease = yield* backend.warmup(acquireRequest())
      const only = yield* backend.run(runRequest(lease.leaseId, { archive: yield* archiveOf({ "x.txt": "x" }), argv: ["touch", "ran"], only: true }))
      assert.deepStrictEqual([only.exitCode, only.commandMs, only.workdir], [0, 0, "/srv/app/work"])
      assert.deepStrictEqual(readdirSync(f.fake.hostPath(lease.cloudId!, "/srv/app/work")), ["x.txt"])
      const execs = f.fake.calls().filter((c) => c.kind === "exec")
      assert.isFalse(execs.some((c) => c.argv!.join(" ").includes("touch")))
      const skipped = yield* backend.run(runRequest(lease.leaseId, { argv: ["pwd"] }))
      assert.strictEqual(skipped.exitCode, 0)
      assert.include(f.fake.calls().filter((c) => c.kind === "exec").at(-2)!.argv!.join(" "), "mkdir -p -- '/srv/app/work'")
      assert.strictEqual((yield* output).out.trim().split("/").slice(-3).join("/"), "srv/app/work")
    }).pipe(Effect.provide(f.layer))
  })

  it.live("forwarded env reaches the command through a profile that is removed afterwards, never an argv", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      const value = "s3cr3t-forwarded-value 'quoted'"
      const result = yield* backend.run(runRequest(lease.slug, { env: { CRABBOX_TEST_SECRET: value }, argv: ["printenv", "CRABBOX_TEST_SECRET"] }))
      assert.strictEqual(result.exitCode, 0)
      assert.strictEqual((yield* output).out, `${value}\n`)
      const uploads = f.fake.calls().filter((c) => c.kind === "upload")
      assert.strictEqual(uploads.length, 1)
      assert.match(uploads[0]!.remote!, /^\/tmp\/crabbox-modal-env-cbx_[0-9a-f]{12}-[0-9a-z]+\.sh$/)
      assert.isFalse(existsSync(f.fake.hostPath(lease.cloudId!, uploads[0]!.remote!)))
      assert.deepStrictEqual(readdirSync(f.fake.hostPath(lease.cloudId!, "/tmp")), [])
      for (const exec of f.fake.calls().filter((c) => c.kind === "exec")) assert.notInclude(exec.argv!.join(" "), "s3cr3t")
      for (const argv of allArgv(f)) assert.notInclude(argv.join(" "), "s3cr3t")
    }).pipe(Effect.provide(f.layer))
  })

  it.live("no local process argv holds the token or the user's command text", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      yield* backend.run(runRequest(lease.slug, { archive: yield* archiveOf({ "f.txt": "f" }), argv: ["echo", "user-command-marker-42"], shell: false }))
      yield* backend.run(runRequest(lease.slug, { argv: ["echo user-shell-marker-43 | tr a-z A-Z"], shell: true }))
      yield* backend.stop({ id: lease.slug, repoRoot: REPO, reclaim: false, readOnly: true })
      assert.include((yield* output).out, "user-command-marker-42\nUSER-SHELL-MARKER-43\n")
      const argvs = allArgv(f)
      assert.isAtLeast(argvs.length, 10)
      for (const argv of argvs) {
        assert.deepStrictEqual(argv.length, 2, JSON.stringify(argv))
        const text = argv.join(" ")
        for (const banned of [TOKEN_SECRET, "ak-token-id", "marker-42", "MARKER-43", "marker-43", lease.cloudId!]) assert.notInclude(text, banned)
      }
      assert.isTrue(f.fake.calls().filter((c) => c.kind === "process").every((c) => c.tokenInEnv === true))
    }).pipe(Effect.provide(f.layer))
  })

  it.live("a command past its deadline ends with exit 124 and says so", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest({ ttl: Duration.seconds(2) }))
      const result = yield* backend.run(runRequest(lease.slug, { argv: ["sleep", "20"] }))
      assert.strictEqual(result.exitCode, 124)
      assert.include((yield* output).lines.join("\n"), "exec deadline of 2s")
    }).pipe(Effect.provide(f.layer))
  }, 30_000)

  it.live("a sandbox that has finished cannot be run in (exit 4)", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      const modal = (yield* ModalClients).make({ python: "python3" })
      yield* modal.terminate(lease.cloudId!)
      const error = yield* Effect.flip(backend.run(runRequest(lease.slug)))
      assert.strictEqual(error._tag, "LeaseStateConflict")
      assert.strictEqual(exitReport(error).code, 4)
    }).pipe(Effect.provide(f.layer))
  })

  it.live("another repo's lease needs --reclaim", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      const other = runRequest(lease.slug)
      const error = yield* Effect.flip(backend.run({ ...other, lease: { _tag: "Existing", resolve: { id: lease.slug, repoRoot: "/elsewhere", reclaim: false } } }))
      assert.strictEqual(error._tag, "ClaimedByOtherRepo")
      yield* backend.run({ ...other, lease: { _tag: "Existing", resolve: { id: lease.slug, repoRoot: "/elsewhere", reclaim: true } } })
      assert.strictEqual((yield* claimsOf)[0]!.repoRoot, "/elsewhere")
    }).pipe(Effect.provide(f.layer))
  })
})

describe("modal backend: run on a fresh lease (library path)", () => {
  it.live("terminates the sandbox and forgets the claim unless kept; --keep-on-failure keeps a failed one", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const fresh = (overrides: Partial<AcquireRequest>, argv: ReadonlyArray<string>, keepOnFailure: boolean) =>
        backend.run({ ...runRequest("unused", { argv, keepOnFailure }), lease: { _tag: "New", acquire: acquireRequest(overrides) } })
      const ok = yield* fresh({}, ["true"], false)
      assert.deepStrictEqual([ok.exitCode, ok.released], [0, true])
      assert.isTrue(f.fake.sandboxes().every((s) => s.terminated))
      assert.deepStrictEqual(yield* claimsOf, [])
      const failed = yield* fresh({}, ["false"], true)
      assert.deepStrictEqual([failed.exitCode, failed.released], [1, false])
      const kept = yield* fresh({ keep: true }, ["true"], false)
      assert.isFalse(kept.released)
      const live = f.fake.sandboxes().filter((s) => !s.terminated).map((s) => s.id).sort()
      assert.deepStrictEqual(live, [failed.lease.cloudId!, kept.lease.cloudId!].sort())
      assert.deepStrictEqual((yield* claimsOf).map((c) => c.cloudId).sort(), live)
    }).pipe(Effect.provide(f.layer))
  }, 60_000)
})

describe("modal backend: status, list, stop, doctor", () => {
  it.live("doctor reports whether the client answers, creating nothing", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const ok = yield* (yield* backendOf()).doctor!
      assert.deepStrictEqual(ok.map((c) => [c.check, c.status]), [["modal_client", "ok"]])
      const broken = yield* (yield* backendOf({ python: "/nonexistent/python3" })).doctor!
      assert.deepStrictEqual(broken.map((c) => [c.check, c.status]), [["modal_client", "failed"]])
      assert.include(broken[0]!.message, "--modal-python")
      assert.isFalse(f.fake.calls().some((c) => c.kind === "create" || c.kind === "app-created"))
    }).pipe(Effect.provide(f.layer))
  })

  it.live("status is ready while the sandbox runs and terminal once it is stopped", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      const running = yield* backend.status({ id: lease.slug, repoRoot: REPO, reclaim: false, readOnly: true })
      assert.deepStrictEqual([running.status, running.ready, running.hasHost, running.workdir, running.sshHost], ["running", true, false, "/workspace/crabbox", null])
      const modal = (yield* ModalClients).make({ python: "python3" })
      yield* modal.terminate(lease.cloudId!)
      const ended = yield* backend.status({ id: lease.leaseId, repoRoot: REPO, reclaim: false, readOnly: true })
      assert.deepStrictEqual([ended.status, ended.ready], ["terminated", false])
      assert.strictEqual(f.fake.sandboxes().length, 1)
    }).pipe(Effect.provide(f.layer))
  })

  it.live("stop by slug, by lease id and by sandbox id terminates and forgets", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const leases = [yield* backend.warmup(acquireRequest()), yield* backend.warmup(acquireRequest()), yield* backend.warmup(acquireRequest())]
      const ids = [leases[0]!.slug, leases[1]!.leaseId, leases[2]!.cloudId!]
      for (const [i, id] of ids.entries()) {
        const view = yield* backend.stop({ id, repoRoot: REPO, reclaim: false, readOnly: true })
        assert.strictEqual(view && view.leaseId, leases[i]!.leaseId)
      }
      assert.isTrue(f.fake.sandboxes().every((s) => s.terminated))
      assert.deepStrictEqual(yield* claimsOf, [])
      const gone = yield* Effect.flip(backend.stop({ id: leases[0]!.slug, repoRoot: REPO, reclaim: false, readOnly: true }))
      assert.strictEqual(exitReport(gone).code, 4)
    }).pipe(Effect.provide(f.layer))
  })

  it.live("a crabbox sandbox with no local claim is found by lease id or sandbox id; a foreign sandbox is never touched", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const modal = (yield* ModalClients).make({ python: "python3" })
      const ours = yield* modal.create({
        app: "crabbox", image: "python:3.13-slim", workdir: "/workspace/crabbox", timeoutSeconds: 600,
        tags: { crabbox: "true", provider: "modal", lease: "cbx_00000000abcd", slug: "amber-krill", keep: "true" }
      })
      const foreign = yield* modal.create({ app: "crabbox", image: "python:3.13-slim", workdir: "/workspace/x", timeoutSeconds: 600, tags: { team: "data" } })
      const backend = yield* backendOf()
      const listed = yield* backend.list
      assert.deepStrictEqual(listed.map((v) => [v.leaseId, v.slug, v.cloudId, v.status]), [["cbx_00000000abcd", "amber-krill", ours.id, "running"]])
      const status = yield* backend.status({ id: "cbx_00000000abcd", repoRoot: REPO, reclaim: false, readOnly: true })
      assert.deepStrictEqual([status.cloudId, status.ready], [ours.id, true])
      // running in it adopts it: a claim for this repo appears
      yield* backend.run(runRequest(ours.id, { argv: ["true"] }))
      assert.deepStrictEqual((yield* claimsOf).map((c) => [c.leaseId, c.slug, c.repoRoot, c.keep]), [["cbx_00000000abcd", "amber-krill", REPO, true]])
      const refused = yield* Effect.flip(backend.stop({ id: foreign.id, repoRoot: REPO, reclaim: false, readOnly: true }))
      assert.strictEqual(exitReport(refused).code, 2)
      assert.include(exitReport(refused).message, "does not carry crabbox's tags")
      yield* backend.stop({ id: ours.id, repoRoot: REPO, reclaim: false, readOnly: true })
      assert.deepStrictEqual(f.fake.sandboxes().map((s) => [s.id, s.terminated]).sort(), [[ours.id, true], [foreign.id, false]].sort())
      assert.deepStrictEqual(yield* claimsOf, [])
    }).pipe(Effect.provide(f.layer))
  })

  it.live("list shows local claims with live status", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const a = yield* backend.warmup(acquireRequest())
      const b = yield* backend.warmup(acquireRequest())
      yield* (yield* ModalClients).make({ python: "python3" }).terminate(b.cloudId!)
      const views = yield* backend.list
      assert.deepStrictEqual(views.map((v) => [v.leaseId, v.status]).sort(), [[a.leaseId, "running"], [b.leaseId, "terminated"]].sort())
      assert.strictEqual(f.fake.sandboxes().length, 2)
    }).pipe(Effect.provide(f.layer))
  })
})

describe("modal backend: no sandbox is forgotten while it may run", () => {
  it.live("an old client whose set_tags fails: warmup fails, the untagged sandbox is terminated, no claim is left", () => {
    const f = fixture({ faults: ["create-no-tags-kwarg", "set-tags"] })
    return Effect.gen(function* () {
      const error = yield* Effect.flip((yield* backendOf()).warmup(acquireRequest()))
      assert.strictEqual(error._tag, "ProviderError")
      assert.strictEqual(f.fake.sandboxes().length, 1)
      assert.isTrue(f.fake.sandboxes()[0]!.terminated)
      assert.deepStrictEqual(yield* claimsOf, [])
    }).pipe(Effect.provide(f.layer))
  })

  it.live("if that sandbox cannot be terminated either, the claim stays in recovery and names it", () => {
    const f = fixture({ faults: ["create-no-tags-kwarg", "set-tags", "terminate"] })
    return Effect.gen(function* () {
      yield* Effect.flip((yield* backendOf()).warmup(acquireRequest()))
      const [sandbox] = f.fake.sandboxes()
      assert.isFalse(sandbox!.terminated)
      const [claim] = yield* claimsOf
      assert.deepStrictEqual([claim!.state, claim!.cloudId], ["recovery", sandbox!.id])
      assert.include((yield* output).lines.join("\n"), "crabbox stop --provider modal")
    }).pipe(Effect.provide(f.layer))
  })

  it.live("a create whose answer was lost: rollback finds the sandbox by its lease tag and terminates it", () => {
    const f = fixture({ faults: ["create-lost-answer"] })
    return Effect.gen(function* () {
      yield* Effect.flip((yield* backendOf()).warmup(acquireRequest()))
      assert.strictEqual(f.fake.sandboxes().length, 1)
      assert.isTrue(f.fake.sandboxes()[0]!.terminated)
      assert.deepStrictEqual(yield* claimsOf, [])
    }).pipe(Effect.provide(f.layer))
  })

  it.live("a tag read that fails during rollback keeps the claim in recovery instead of dropping it", () => {
    const f = fixture({ faults: ["create-lost-answer", "get-tags"] })
    return Effect.gen(function* () {
      const request = acquireRequest()
      yield* Effect.flip((yield* backendOf()).warmup(request))
      assert.isFalse(f.fake.sandboxes()[0]!.terminated)
      const [claim] = yield* claimsOf
      assert.deepStrictEqual([claim!.leaseId, claim!.state], [request.leaseId, "recovery"])
    }).pipe(Effect.provide(f.layer))
  })

  for (const fault of ["terminate-not-found", "terminate-404"]) {
    it.live(`stop keeps the claim (recovery) and fails when terminate fails with ${fault}`, () => {
      const f = fixture({ faults: [fault] })
      return Effect.gen(function* () {
        const backend = yield* backendOf()
        const lease = yield* backend.warmup(acquireRequest())
        const error = yield* Effect.flip(backend.stop({ id: lease.slug, repoRoot: REPO, reclaim: false, readOnly: true }))
        assert.strictEqual(error._tag, "LeaseCleanupFailed")
        assert.isFalse(f.fake.sandboxes()[0]!.terminated)
        const [claim] = yield* claimsOf
        assert.deepStrictEqual([claim!.state, claim!.cloudId], ["recovery", lease.cloudId])
      }).pipe(Effect.provide(f.layer))
    })
  }

  it.live("stop forgets a lease whose sandbox Modal no longer knows", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      rmSync(join(f.fake.root, "sandboxes", lease.cloudId!), { recursive: true })
      yield* backend.stop({ id: lease.slug, repoRoot: REPO, reclaim: false, readOnly: true })
      assert.deepStrictEqual(yield* claimsOf, [])
    }).pipe(Effect.provide(f.layer))
  })

  it.live("an exec that reports no exit status fails the run instead of passing for exit 0", () => {
    const f = fixture({ faults: ["exec-no-status"] })
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      const error = yield* Effect.flip(backend.run(runRequest(lease.slug, { argv: ["true"] })))
      assert.strictEqual(error._tag, "ProviderError")
      assert.include(exitReport(error).message, "no exit status")
    }).pipe(Effect.provide(f.layer))
  })

  it.live("each sync stages into a directory of its own, so two runs on one lease do not share it", () => {
    const f = fixture()
    return Effect.gen(function* () {
      const backend = yield* backendOf()
      const lease = yield* backend.warmup(acquireRequest())
      yield* backend.run(runRequest(lease.leaseId, { archive: yield* archiveOf({ "a.txt": "a" }), only: true }))
      yield* backend.run(runRequest(lease.leaseId, { archive: yield* archiveOf({ "a.txt": "b" }), only: true }))
      const staging = f.fake.calls().filter((c) => c.kind === "exec").map((c) => /staging='([^']+)'/.exec(c.argv!.join(" "))?.[1])
        .filter((s) => s !== undefined)
      assert.strictEqual(staging.length, 2)
      for (const dir of staging) assert.match(dir!, new RegExp(`^/workspace/\\.crabbox\\.crabbox-sync-${lease.leaseId.slice(-6)}-[0-9a-f]{8}$`))
      assert.notStrictEqual(staging[0], staging[1])
    }).pipe(Effect.provide(f.layer))
  })
})
