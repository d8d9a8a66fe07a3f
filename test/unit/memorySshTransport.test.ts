import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, Ref, Stream, TestClock } from "effect"
import * as MemorySshTransport from "../../src/adapters/memory/MemorySshTransport.js"
import { fingerprint } from "../../src/adapters/ssh2/hostKey.js"
import { SshError } from "../../src/domain/errors.js"
import type { HostKey, SshTarget } from "../../src/domain/sshTarget.js"
import { type ExecRequest, type RemoteProcess, SshTransport } from "../../src/ports/SshTransport.js"

const target: SshTarget = { host: "10.0.0.7", port: 22, user: "crab", privateKey: Redacted.make("not a real key") }

const text = (stream: Stream.Stream<Uint8Array, SshError>) => stream.pipe(Stream.decodeText(), Stream.mkString)

const finish = (proc: RemoteProcess, input: Stream.Stream<Uint8Array> = Stream.empty) =>
  Effect.all([text(proc.stdout), text(proc.stderr), Stream.run(input, proc.stdin), proc.exit], { concurrency: "unbounded" })
    .pipe(Effect.map(([stdout, stderr, , status]) => ({ stdout, stderr, code: status.code })))

const using = <A, E, R>(options: MemorySshTransport.MemorySshOptions, body: Effect.Effect<A, E, R>) =>
  Effect.provide(body, MemorySshTransport.layer(options))

const otherKey: HostKey = { algorithm: "ssh-ed25519", base64: "AAAAC3NzaC1lZDI1NTE5AAAAIBERERERERERERERERERERERERERERERERERERERERER" }

describe("MemorySshTransport", () => {
  it.scoped("answers a command with the handler's output and code, given the full stdin", () => Effect.gen(function* () {
    const seen = yield* Ref.make<ReadonlyArray<{ request: ExecRequest; stdin: string }>>([])
    const handler: MemorySshTransport.MemoryHandler = (request, stdin) =>
      Ref.update(seen, (all) => [...all, { request, stdin: new TextDecoder().decode(stdin) }]).pipe(
        Effect.as({ stdout: "out\n", stderr: new TextEncoder().encode("err\n"), code: 42 }))
    const result = yield* using({ handler }, Effect.gen(function* () {
      const session = yield* Effect.flatMap(SshTransport, (ssh) => ssh.connect(target))
      const proc = yield* session.exec({ command: "cat", env: { A: "1" } })
      return yield* finish(proc, Stream.make(new TextEncoder().encode("hel"), new TextEncoder().encode("lo")))
    }))
    assert.deepStrictEqual(result, { stdout: "out\n", stderr: "err\n", code: 42 })
    assert.deepStrictEqual(yield* Ref.get(seen), [{ request: { command: "cat", env: { A: "1" } }, stdin: "hello" }])
  }))

  it.scoped("a shell reaches the handler as an empty command with its PTY", () => Effect.gen(function* () {
    const handler: MemorySshTransport.MemoryHandler = (request, stdin) =>
      Effect.succeed({ stdout: `${JSON.stringify(request)} ${new TextDecoder().decode(stdin)}`, code: 3 })
    const pty = { term: "xterm", cols: 80, rows: 24 }
    const result = yield* using({ handler }, Effect.gen(function* () {
      const session = yield* Effect.flatMap(SshTransport, (ssh) => ssh.connect(target))
      const proc = yield* session.shell(pty)
      yield* proc.resize(100, 40)
      return yield* finish(proc, Stream.make(new TextEncoder().encode("exit 3\n")))
    }))
    assert.strictEqual(result.code, 3)
    assert.strictEqual(result.stdout, `${JSON.stringify({ command: "", pty })} exit 3\n`)
  }))

  it.scoped("a handler's failure is the process's failure", () => Effect.gen(function* () {
    const lost = new SshError({ kind: "closed", host: target.host, port: target.port, message: "gone" })
    const error = yield* using({ handler: () => Effect.fail(lost) }, Effect.gen(function* () {
      const session = yield* Effect.flatMap(SshTransport, (ssh) => ssh.connect(target))
      return yield* Effect.flip(finish(yield* session.exec({ command: "true" })))
    }))
    assert.strictEqual(error, lost)
  }))

  it.scoped("presents its host key and accepts it pinned", () => Effect.gen(function* () {
    const key = yield* using({ handler: () => Effect.succeed({ code: 0 }) }, Effect.gen(function* () {
      const ssh = yield* SshTransport
      const first = yield* ssh.connect(target)
      const again = yield* ssh.connect({ ...target, pinnedHostKey: first.hostKey })
      return again.hostKey
    }))
    assert.deepStrictEqual(key, MemorySshTransport.defaultHostKey)
  }))

  it.scoped("refuses a pinned key that differs from its host key", () => Effect.gen(function* () {
    const error = yield* using({ handler: () => Effect.succeed({ code: 0 }), hostKey: otherKey },
      Effect.flip(Effect.flatMap(SshTransport, (ssh) =>
        ssh.connect({ ...target, pinnedHostKey: MemorySshTransport.defaultHostKey }))))
    assert.strictEqual(error._tag, "HostKeyMismatch")
    if (error._tag !== "HostKeyMismatch") return
    assert.strictEqual(error.expected, fingerprint(MemorySshTransport.defaultHostKey))
    assert.strictEqual(error.actual, fingerprint(otherKey))
    assert.match(error.actual, /^SHA256:[A-Za-z0-9+/]{43}$/)
  }))

  it.scoped("failConnect fails connect and probe", () => Effect.gen(function* () {
    const refused = new SshError({ kind: "connect", host: target.host, port: target.port, message: "refused" })
    const [onConnect, onProbe] = yield* using({ handler: () => Effect.succeed({ code: 0 }), failConnect: refused },
      Effect.flatMap(SshTransport, (ssh) =>
        Effect.all([Effect.flip(ssh.connect(target)), Effect.flip(ssh.probe(target, "5 seconds"))])))
    assert.strictEqual(onConnect, refused)
    assert.strictEqual(onProbe, refused)
  }))

  it.effect("probe runs `true` and returns the host key", () => Effect.gen(function* () {
    const key = yield* using({
      handler: (request) => Effect.succeed({ code: request.command === "true" ? 0 : 127 }),
      hostKey: otherKey
    }, Effect.flatMap(SshTransport, (ssh) => ssh.probe(target, "5 seconds")))
    assert.deepStrictEqual(key, otherKey)
  }))

  it.effect("probe fails when `true` does not exit 0", () => Effect.gen(function* () {
    const error = yield* using({ handler: () => Effect.succeed({ code: 1 }) },
      Effect.flip(Effect.flatMap(SshTransport, (ssh) => ssh.probe(target, "5 seconds"))))
    assert.strictEqual(error._tag === "SshError" && error.kind, "channel")
  }))

  it.effect("probe gives up at its deadline with kind timeout", () => Effect.gen(function* () {
    const fiber = yield* using({ handler: () => Effect.never },
      Effect.flip(Effect.flatMap(SshTransport, (ssh) => ssh.probe(target, "10 seconds")))).pipe(Effect.fork)
    yield* TestClock.adjust("11 seconds")
    const error = yield* Fiber.join(fiber)
    assert.strictEqual(error._tag === "SshError" && error.kind, "timeout")
  }))
})
