/**
 * One run in an existing sandbox: sync the archive (or just make the workdir), forward the
 * environment through a short-lived profile file, run the command with its output
 * streamed to the Stdio sinks, and hand back its exit code.
 */
import { type Context, Effect, Option, Random, Sink } from "effect"
import type { Claim } from "../../../domain/claim.js"
import { type CrabboxError, LeaseStateConflict, RemoteSetupFailed, SyncError, UsageError } from "../../../domain/errors.js"
import { leaseViewOf } from "../../../domain/leaseViewOf.js"
import type { ExecOutcome, ModalClient } from "../../../ports/ModalClient.js"
import type { Stdio } from "../../../ports/Stdio.js"
import { nowMillis } from "../../leases/clockTime.js"
import { runDetached } from "../../leases/detached.js"
import type { DelegatedRunRequest, DelegatedRunResult, SyncArchive } from "../backend.js"
import { fromModalClient } from "./errors.js"
import { type LeaseDeps, type ModalLease, setState } from "./modalLeases.js"
import {
  bashArgv, commandScript, envProfile, execArgsBytes, extractArchiveScript, makeWorkdirScript, MAX_EXEC_ARGS_BYTES,
  removeFileScript, withEnvProfile
} from "./remoteScripts.js"

/** What `timeout` reports for a command past its deadline; a Modal exec deadline reads the same. */
export const TIMED_OUT_EXIT_CODE = 124

const encoder = new TextEncoder()

export interface RunDeps extends LeaseDeps {
  readonly stdio: Context.Tag.Service<Stdio>
}

/** Remote temp names carry the lease and the time, so two runs on one sandbox never share a file. */
const remoteTemp = (claim: Claim, kind: "sync" | "env", ms: number, extension: string) =>
  `/tmp/crabbox-modal-${kind}-${claim.leaseId}-${ms.toString(36)}${extension}`

/** A crabbox helper command in the sandbox: its stdout is dropped, its stderr goes to ours. */
const helperExec = (deps: RunDeps, sandboxId: string, timeoutSeconds: number, script: string) =>
  deps.client.exec({ sandboxId, argv: bashArgv(script), timeoutSeconds, stdout: Sink.drain, stderr: deps.stdio.stderr }).pipe(
    Effect.mapError(fromModalClient))

/** The staging directory's suffix: the lease and a random part, so two syncs on one lease never share (and delete) one. */
const stagingSuffix = (claim: Claim) =>
  Effect.map(Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 256))), (bytes) =>
    `${claim.leaseId.slice(-6)}-${bytes.map((b) => b.toString(16).padStart(2, "0")).join("")}`)

const exitOf = (outcome: ExecOutcome): number => (outcome._tag === "Exited" ? outcome.code : TIMED_OUT_EXIT_CODE)

const syncArchive = (deps: RunDeps, claim: Claim, sandboxId: string, timeoutSeconds: number, archive: SyncArchive) =>
  Effect.gen(function* () {
    const remote = remoteTemp(claim, "sync", yield* nowMillis, ".tgz")
    yield* deps.stdio.err(`sync: uploading ${archive.files} files (${archive.bytes.byteLength} bytes compressed) to modal sandbox ${sandboxId}`)
    yield* deps.client.upload({ sandboxId, remotePath: remote, content: archive.bytes }).pipe(Effect.mapError(fromModalClient))
    const script = extractArchiveScript({ archive: remote, workdir: deps.settings.workdir, suffix: yield* stagingSuffix(claim) })
    const outcome = yield* helperExec(deps, sandboxId, timeoutSeconds, script)
    if (exitOf(outcome) !== 0) {
      return yield* new SyncError({
        message: `extracting the archive into ${deps.settings.workdir} in modal sandbox ${sandboxId} ${outcome._tag === "TimedOut" ? "timed out" : `exited ${exitOf(outcome)}`}; the previous workdir is untouched`
      })
    }
  })

const prepare = (deps: RunDeps, claim: Claim, sandboxId: string, timeoutSeconds: number, request: DelegatedRunRequest) =>
  Effect.gen(function* () {
    if (!request.sync.skip && request.sync.archive !== undefined) {
      return yield* syncArchive(deps, claim, sandboxId, timeoutSeconds, request.sync.archive)
    }
    const outcome = yield* helperExec(deps, sandboxId, timeoutSeconds, makeWorkdirScript(deps.settings.workdir))
    if (exitOf(outcome) !== 0) {
      return yield* new RemoteSetupFailed({ message: `mkdir ${deps.settings.workdir} in modal sandbox ${sandboxId} exited ${exitOf(outcome)}` })
    }
  })

/**
 * The command, with the forwarded variables in a profile uploaded beside it. The script
 * deletes the profile as soon as it is sourced; if the exec never reported (a transport
 * failure), one more exec deletes it.
 */
const runCommand = (deps: RunDeps, claim: Claim, sandboxId: string, timeoutSeconds: number, request: DelegatedRunRequest) =>
  Effect.gen(function* () {
    const script = commandScript({ workdir: deps.settings.workdir, argv: request.argv, shell: request.shell })
    const profile = envProfile(request.env)
    const profilePath = profile === "" ? Option.none<string>() : Option.some(remoteTemp(claim, "env", yield* nowMillis, ".sh"))
    const argv = bashArgv(Option.match(profilePath, { onNone: () => script, onSome: (path) => withEnvProfile(path, script) }))
    if (execArgsBytes(argv) > MAX_EXEC_ARGS_BYTES) {
      return yield* new UsageError({
        message: `the command is ${execArgsBytes(argv)} bytes once wrapped; Modal's exec takes at most ${MAX_EXEC_ARGS_BYTES}`,
        hint: "put it in a script in the repository and run that"
      })
    }
    if (Option.isSome(profilePath)) {
      yield* deps.client.upload({ sandboxId, remotePath: profilePath.value, content: encoder.encode(profile) }).pipe(
        Effect.mapError(fromModalClient))
    }
    yield* deps.stdio.err(`running on modal sandbox ${sandboxId} ${request.argv.join(" ")}`)
    const exec = deps.client.exec({ sandboxId, argv, timeoutSeconds, stdout: deps.stdio.stdout, stderr: deps.stdio.stderr }).pipe(
      Effect.mapError(fromModalClient))
    const outcome = yield* Option.match(profilePath, {
      onNone: () => exec,
      onSome: (path) => exec.pipe(Effect.onError(() =>
        runDetached(helperExec(deps, sandboxId, 60, removeFileScript(path))).pipe(Effect.ignore)))
    })
    if (outcome._tag === "TimedOut") {
      yield* deps.stdio.err(`modal: the command ran past the exec deadline of ${timeoutSeconds}s and was stopped (exit ${TIMED_OUT_EXIT_CODE})`)
    }
    return exitOf(outcome)
  })

/**
 * A client error in a sandbox that has ended says little; Modal is asked whether it still
 * runs only then, so a healthy run costs no extra call.
 */
const explainFailure = (client: ModalClient, claim: Claim, sandboxId: string) =>
  (error: CrabboxError): Effect.Effect<never, CrabboxError> =>
    error._tag !== "ProviderError"
      ? Effect.fail(error)
      : Effect.flatMap(Effect.option(client.get(sandboxId)), (answer): Effect.Effect<never, CrabboxError> => {
        // the lookup failing too says nothing new: the first error stands
        if (Option.isNone(answer) || (Option.isSome(answer.value) && answer.value.value.status === "running")) return Effect.fail(error)
        return Effect.fail(new LeaseStateConflict({
          leaseId: claim.leaseId,
          state: Option.isNone(answer.value) ? "missing" : "terminated",
          message: `modal sandbox ${sandboxId} is no longer running (timed out or stopped); crabbox stop --provider modal ${claim.slug} forgets it`
        }))
      })

export const runInLease = (deps: RunDeps, lease: ModalLease, request: DelegatedRunRequest): Effect.Effect<DelegatedRunResult, CrabboxError> =>
  Effect.gen(function* () {
    const claim = lease.claim
    if (claim.state !== "ready" && claim.state !== "running") {
      return yield* new LeaseStateConflict({ leaseId: claim.leaseId, state: claim.state, message: `finish it with crabbox stop --provider modal ${claim.slug}` })
    }
    const sandboxId = claim.cloudId
    if (sandboxId === undefined) {
      return yield* new LeaseStateConflict({ leaseId: claim.leaseId, state: claim.state, message: "the claim names no sandbox" })
    }
    const explain = explainFailure(deps.client, claim, sandboxId)
    const timeoutSeconds = claim.ttlSeconds
    const syncStart = yield* nowMillis
    yield* prepare(deps, claim, sandboxId, timeoutSeconds, request).pipe(Effect.catchAll(explain))
    const syncMs = (yield* nowMillis) - syncStart
    const result = (exitCode: number, commandMs: number): DelegatedRunResult => ({
      lease: leaseViewOf(claim, { status: "running" }), exitCode, syncMs, commandMs, released: false, workdir: deps.settings.workdir
    })
    if (request.sync.only) return result(0, 0)
    // `running` only while the command runs, `ready` again however it ends
    const running = yield* setState(deps, claim, "running")
    const commandStart = yield* nowMillis
    const exitCode = yield* runCommand(deps, claim, sandboxId, timeoutSeconds, request).pipe(
      Effect.catchAll(explain),
      Effect.onExit(() => runDetached(setState(deps, running, "ready")).pipe(Effect.ignore)))
    return result(exitCode, (yield* nowMillis) - commandStart)
  })
