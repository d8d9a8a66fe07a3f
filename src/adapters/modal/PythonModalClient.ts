/**
 * ModalClient over the user's local Modal Python client, one child process per call
 * (spawned through @effect/platform's CommandExecutor).
 *
 * The child's argv is `<modal.python> <tempdir>/crabbox_modal_helper.py` and nothing
 * more: the request (sandbox id, the remote argv with the user's command, paths) goes in
 * as JSON on stdin, and credentials stay in the environment the child inherits. The
 * helper script is written, 0600, into a private temp directory that goes away with the
 * call, together with any file being uploaded.
 */
import { Command, CommandExecutor, FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Either, Fiber, Layer, Option, Queue, Ref, Stream, Take } from "effect"
import type { Sink } from "effect"
import {
  type ExecOutcome, type ModalClient, ModalClientError, ModalClients, type ModalClientSettings, type ModalSandbox
} from "../../ports/ModalClient.js"
import { decodeHelperEvent, decodeSandbox, decodeSandboxes, type HelperEvent } from "./helperProtocol.js"
import { MODAL_HELPER_SCRIPT } from "./helperScript.js"

type Operation = ModalClientError["operation"]

/** How much of the child's stderr is kept for an error message. */
const stderrTailChars = 4096

const encoder = new TextEncoder()

const failure = (operation: Operation, kind: ModalClientError["kind"], message: string, sandboxId?: string) =>
  new ModalClientError(sandboxId === undefined ? { operation, kind, message } : { operation, kind, message, sandboxId })

/** The last line the child printed on stderr: a Python traceback ends with the exception. */
const lastLine = (text: string): string => text.trim().split("\n").pop()?.trim() ?? ""

interface OutputSinks {
  readonly stdout: Sink.Sink<void, Uint8Array>
  readonly stderr: Sink.Sink<void, Uint8Array>
}

/** Feeds one sink from a fiber, so a slow consumer holds the helper back instead of piling up bytes. */
const pump = (sink: Sink.Sink<void, Uint8Array>) =>
  Effect.gen(function* () {
    const queue = yield* Queue.bounded<Take.Take<Uint8Array>>(16)
    const fiber = yield* Effect.fork(Stream.run(Stream.flattenTake(Stream.fromQueue(queue)), sink))
    return {
      offer: (bytes: Uint8Array) => Queue.offer(queue, Take.of(bytes)),
      end: Queue.offer(queue, Take.end).pipe(Effect.zipRight(Fiber.join(fiber)))
    }
  })

interface Answer {
  readonly result: Option.Option<unknown>
  readonly exit: Option.Option<number>
}

interface Platform {
  readonly executor: CommandExecutor.CommandExecutor
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
}

const clientOf = ({ executor, fs, path }: Platform, settings: ModalClientSettings): ModalClient => {
  const spawnFailed = (operation: Operation) => (e: PlatformError) =>
    failure(operation, "missing-client",
      `cannot run modal.python ${JSON.stringify(settings.python)}: ${e.message}; set modal.python, CRABBOX_MODAL_PYTHON or --modal-python to a Python that has the modal package`)

  /**
   * One helper call: the answer's events are read line by line as they arrive; output
   * events go to `sinks` (exec), the rest are collected.
   */
  const invoke = (
    operation: Operation,
    payload: Record<string, unknown>,
    options: { readonly sinks?: OutputSinks; readonly upload?: Uint8Array } = {}
  ): Effect.Effect<Answer, ModalClientError> =>
    Effect.scoped(Effect.gen(function* () {
      const io = (e: PlatformError) => failure(operation, "transport", `modal helper i/o: ${e.message}`)
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "crabbox-modal-" }).pipe(Effect.mapError(io))
      const script = path.join(dir, "crabbox_modal_helper.py")
      yield* fs.writeFileString(script, MODAL_HELPER_SCRIPT, { mode: 0o600 }).pipe(Effect.mapError(io))
      const request: Record<string, unknown> = { op: operation, ...payload }
      if (options.upload !== undefined) {
        const local = path.join(dir, "upload.bin")
        yield* fs.writeFile(local, options.upload, { mode: 0o600 }).pipe(Effect.mapError(io))
        request["local_path"] = local
      }
      const command = Command.make(settings.python, script).pipe(
        Command.stdin(Stream.make(encoder.encode(`${JSON.stringify(request)}\n`))),
        Command.env({ PYTHONDONTWRITEBYTECODE: "1", PYTHONIOENCODING: "utf-8" })
      )
      const proc = yield* executor.start(command).pipe(Effect.mapError(spawnFailed(operation)))
      const stderrTail = yield* Effect.fork(proc.stderr.pipe(
        Stream.decodeText(),
        Stream.runFold("", (tail, text) => (tail + text).slice(-stderrTailChars)),
        Effect.orElseSucceed(() => "")
      ))
      const out = options.sinks === undefined ? undefined : { stdout: yield* pump(options.sinks.stdout), stderr: yield* pump(options.sinks.stderr) }
      const answer = yield* Ref.make<Answer>({ result: Option.none(), exit: Option.none() })
      const reported = yield* Ref.make(Option.none<ModalClientError>())

      const handle = (event: HelperEvent): Effect.Effect<void> => {
        switch (event.event) {
          case "stdout":
          case "stderr":
            return out === undefined ? Effect.void : out[event.event].offer(Buffer.from(event.data, "base64"))
          case "exit":
            return Ref.update(answer, (a) => ({ ...a, exit: Option.some(event.code) }))
          case "result":
            return Ref.update(answer, (a) => ({ ...a, result: Option.some(event.value) }))
          case "error":
            return Ref.set(reported, Option.some(failure(operation, event.kind, event.message, event.sandbox_id)))
        }
      }
      yield* proc.stdout.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filter((line) => line.trim() !== ""),
        Stream.mapError(io),
        Stream.runForEach((line) => Either.match(decodeHelperEvent(line), {
          onLeft: () => Effect.fail(failure(operation, "protocol", `modal helper printed something that is not an event: ${JSON.stringify(line.slice(0, 200))}`)),
          onRight: handle
        }))
      )
      if (out !== undefined) {
        yield* out.stdout.end
        yield* out.stderr.end
      }
      const code = yield* proc.exitCode.pipe(Effect.mapError(io))
      const tail = yield* Fiber.join(stderrTail)
      const error = yield* Ref.get(reported)
      if (Option.isSome(error)) return yield* error.value
      if (code !== 0) {
        return yield* failure(operation, "transport", `modal python client exited ${code}${lastLine(tail) ? `: ${lastLine(tail)}` : ""}`)
      }
      return yield* Ref.get(answer)
    }))

  const resultOf = (operation: Operation, answer: Answer) =>
    Option.match(answer.result, {
      onNone: () => Effect.fail(failure(operation, "protocol", "modal helper ended without a result")),
      onSome: Effect.succeed
    })

  const sandboxOf = (operation: Operation) => (value: unknown) =>
    Either.match(decodeSandbox(value), {
      onLeft: () => Effect.fail(failure(operation, "protocol", "modal helper returned a malformed sandbox")),
      onRight: (sb): Effect.Effect<ModalSandbox> => Effect.succeed(sb)
    })

  return {
    create: (request) =>
      invoke("create", {
        app: request.app, image: request.image, workdir: request.workdir,
        timeout_seconds: request.timeoutSeconds, tags: request.tags
      }).pipe(
        Effect.flatMap((answer) => resultOf("create", answer)),
        Effect.flatMap(sandboxOf("create")),
        Effect.filterOrFail((sb) => sb.id !== "", () => failure("create", "protocol", "modal create returned no sandbox id"))
      ),
    get: (sandboxId) =>
      invoke("get", { sandbox_id: sandboxId }).pipe(
        Effect.flatMap((answer) => resultOf("get", answer)),
        Effect.flatMap(sandboxOf("get")),
        Effect.map(Option.some),
        Effect.catchIf((e) => e.kind === "not-found", () => Effect.succeed(Option.none<ModalSandbox>()))
      ),
    list: (query) =>
      invoke("list", { app: query.app, tags: query.tags }).pipe(
        Effect.flatMap((answer) => resultOf("list", answer)),
        Effect.flatMap((value) => Either.match(decodeSandboxes(value), {
          onLeft: () => Effect.fail(failure("list", "protocol", "modal helper returned a malformed sandbox list")),
          onRight: (sbs): Effect.Effect<ReadonlyArray<ModalSandbox>> => Effect.succeed(sbs)
        }))
      ),
    upload: (request) =>
      invoke("upload", { sandbox_id: request.sandboxId, remote_path: request.remotePath }, { upload: request.content }).pipe(
        Effect.asVoid),
    exec: (request) =>
      invoke("exec", { sandbox_id: request.sandboxId, argv: request.argv, timeout_seconds: request.timeoutSeconds }, {
        sinks: { stdout: request.stdout, stderr: request.stderr }
      }).pipe(Effect.flatMap((answer) => Option.match(answer.exit, {
        onNone: () => Effect.fail(failure("exec", "protocol", "modal helper ended without an exit status")),
        // -1 is how the client reports that the exec deadline passed
        onSome: (code): Effect.Effect<ExecOutcome> => Effect.succeed(code === -1 ? { _tag: "TimedOut" } : { _tag: "Exited", code })
      }))),
    terminate: (sandboxId) => invoke("terminate", { sandbox_id: sandboxId }).pipe(Effect.asVoid)
  }
}

/** The factory the composition root provides; the clients it makes spawn through these platform services. */
export const layer: Layer.Layer<ModalClients, never, CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path> =
  Layer.effect(ModalClients, Effect.gen(function* () {
    const platform: Platform = {
      executor: yield* CommandExecutor.CommandExecutor,
      fs: yield* FileSystem.FileSystem,
      path: yield* Path.Path
    }
    return ModalClients.of({ make: (settings) => clientOf(platform, settings) })
  }))
