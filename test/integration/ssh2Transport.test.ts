import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Redacted, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import { execFileSync } from "node:child_process"
import { createServer, type Server, type Socket } from "node:net"
import * as Ssh2Transport from "../../src/adapters/ssh2/Ssh2Transport.js"
import { formatHostKey, type HostKey, type SshTarget } from "../../src/domain/sshTarget.js"
import { type ExecRequest, type SshSession, SshTransport } from "../../src/ports/SshTransport.js"
import { freePort, startSshd, type TestSshd } from "../support/sshd.js"
import { generateEd25519KeyPair } from "../../src/adapters/shared/ed25519KeyPair.js"

const targetOf = (sshd: TestSshd, overrides: Partial<SshTarget> = {}): SshTarget => ({
  host: sshd.host,
  port: sshd.port,
  user: sshd.user,
  privateKey: Redacted.make(sshd.clientKey.privateKey),
  connectTimeoutMs: 10_000,
  ...overrides
})

const hostKeyOf = (line: string): HostKey => {
  const [algorithm, base64] = line.split(" ")
  return { algorithm: algorithm!, base64: base64! }
}

/** What `ssh-keygen -lf` prints for the key: the format HostKeyMismatch must use. */
const opensshFingerprint = (line: string): string =>
  execFileSync("ssh-keygen", ["-lf", "-"], { input: `${line}\n` }).toString().split(" ")[1]!

const text = <E>(stream: Stream.Stream<Uint8Array, E>) => stream.pipe(Stream.decodeText(), Stream.mkString)

/** Run a command to its end, feeding `input` to its stdin, collecting small outputs as text. */
const run = (session: SshSession, request: ExecRequest, input: Stream.Stream<Uint8Array> = Stream.empty) =>
  Effect.scoped(Effect.gen(function* () {
    const proc = yield* session.exec(request)
    const [stdout, stderr, , status] = yield* Effect.all(
      [text(proc.stdout), text(proc.stderr), Stream.run(input, proc.stdin), proc.exit],
      { concurrency: "unbounded" })
    return { stdout, stderr, ...status }
  }))

const bytes = (s: string) => new TextEncoder().encode(s)

const withTransport = <A, E>(body: Effect.Effect<A, E, SshTransport | Scope.Scope>) =>
  Effect.provide(body, Ssh2Transport.layer)

describe("Ssh2Transport against a real sshd", () => {
  let sshd: TestSshd
  beforeAll(async () => { sshd = await startSshd() })
  afterAll(async () => { await sshd?.stop() })

  const session = Effect.flatMap(SshTransport, (ssh) => ssh.connect(targetOf(sshd)))

  it.scopedLive("reports exit codes 0, 1 and 42", () => withTransport(Effect.gen(function* () {
    const s = yield* session
    const codes = yield* Effect.forEach(["exit 0", "exit 1", "exit 42"], (command) => run(s, { command }))
    assert.deepStrictEqual(codes.map((r) => r.code), [0, 1, 42])
    assert.isUndefined(codes[2]!.signal)
  })))

  it.scopedLive("keeps stdout and stderr apart", () => withTransport(Effect.gen(function* () {
    const r = yield* run(yield* session, { command: "echo out; echo err >&2; echo out2" })
    assert.strictEqual(r.stdout, "out\nout2\n")
    assert.strictEqual(r.stderr, "err\n")
  })))

  it.scopedLive("pipes stdin through and ends it", () => withTransport(Effect.gen(function* () {
    const s = yield* session
    const echoed = yield* run(s, { command: "cat" }, Stream.make(bytes("hello\n"), bytes("world\n")))
    assert.strictEqual(echoed.stdout, "hello\nworld\n")
    const chunk = new Uint8Array(64 * 1024).fill(120)
    const counted = yield* run(s, { command: "wc -c" }, Stream.repeatValue(chunk).pipe(Stream.take(16)))
    assert.strictEqual(counted.stdout.trim(), String(1024 * 1024))
  })))

  it.scopedLive("stops feeding stdin once the process is gone", () => withTransport(Effect.gen(function* () {
    const endless = Stream.repeatValue(new Uint8Array(32 * 1024).fill(97))
    const r = yield* run(yield* session, { command: "head -c 10" }, endless)
    assert.strictEqual(r.stdout, "aaaaaaaaaa")
    assert.strictEqual(r.code, 0)
  })))

  it.scopedLive("inlines env values with quotes, spaces and $", () => withTransport(Effect.gen(function* () {
    const value = `it's "quoted" $HOME and  spaces \\ \`x\``
    const r = yield* run(yield* session, { command: `printf '%s' "$CRABBOX_A"`, env: { CRABBOX_A: value } })
    assert.strictEqual(r.stdout, value)
  })))

  it.scopedLive("streams 50 MB of stdout without collecting it", () => withTransport(Effect.gen(function* () {
    const s = yield* session
    const total = yield* Effect.scoped(Effect.gen(function* () {
      const proc = yield* s.exec({ command: "head -c 52428800 /dev/zero" })
      const [count] = yield* Effect.all([
        Stream.runFold(proc.stdout, 0, (n, chunk) => n + chunk.length),
        Stream.runDrain(proc.stderr),
        Stream.run(Stream.empty, proc.stdin)
      ], { concurrency: "unbounded" })
      assert.strictEqual((yield* proc.exit).code, 0)
      return count
    }))
    assert.strictEqual(total, 52428800)
  })))

  it.scopedLive("reports a process killed by a signal as 128 + n", () => withTransport(Effect.gen(function* () {
    const r = yield* run(yield* session, { command: "kill -TERM $$" })
    assert.strictEqual(r.signal, "SIGTERM")
    assert.strictEqual(r.code, 128 + 15)
  })))

  it.scopedLive("a channel that dies without an exit status fails with kind closed", () =>
    withTransport(Effect.gen(function* () {
      const ssh = yield* SshTransport
      // A session of its own: killing the per-connection sshd process drops the connection.
      const s = yield* ssh.connect(targetOf(sshd))
      const error = yield* Effect.flip(run(s, { command: "kill -KILL $PPID; sleep 5" }))
      assert.strictEqual(error._tag, "SshError")
      assert.strictEqual(error.kind, "closed")
    })))

  it.scopedLive("presents the server's host key and accepts it when pinned", () => withTransport(Effect.gen(function* () {
    const ssh = yield* SshTransport
    const first = yield* ssh.connect(targetOf(sshd))
    assert.strictEqual(formatHostKey(first.hostKey), sshd.hostPublicKey())
    const pinned = yield* ssh.connect(targetOf(sshd, { pinnedHostKey: hostKeyOf(sshd.hostPublicKey()) }))
    assert.strictEqual((yield* run(pinned, { command: "echo ok" })).stdout, "ok\n")
  })))

  it.scopedLive("refuses a pinned host key that differs, with OpenSSH fingerprints", () =>
    withTransport(Effect.gen(function* () {
      const ssh = yield* SshTransport
      const other = generateEd25519KeyPair().public
      const error = yield* Effect.flip(ssh.connect(targetOf(sshd, { pinnedHostKey: hostKeyOf(other) })))
      assert.strictEqual(error._tag, "HostKeyMismatch")
      if (error._tag !== "HostKeyMismatch") return
      assert.strictEqual(error.expected, opensshFingerprint(other))
      assert.strictEqual(error.actual, opensshFingerprint(sshd.hostPublicKey()))
      assert.match(error.actual, /^SHA256:[A-Za-z0-9+/]{43}$/)
    })))

  it.scopedLive("a wrong private key fails with kind auth and no key material", () =>
    withTransport(Effect.gen(function* () {
      const ssh = yield* SshTransport
      const stranger = generateEd25519KeyPair().private
      const error = yield* Effect.flip(ssh.connect(targetOf(sshd, { privateKey: Redacted.make(stranger) })))
      assert.strictEqual(error._tag, "SshError")
      if (error._tag !== "SshError") return
      assert.strictEqual(error.kind, "auth")
      const shown = JSON.stringify(error) + String(error)
      assert.notInclude(shown, "PRIVATE KEY")
      assert.notInclude(shown, stranger.split("\n")[1]!)
    })))

  it.scopedLive("an unparsable private key fails with kind auth and no key material", () =>
    withTransport(Effect.gen(function* () {
      const ssh = yield* SshTransport
      const garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LXNlY3JldA==\n-----END OPENSSH PRIVATE KEY-----\n"
      const error = yield* Effect.flip(ssh.connect(targetOf(sshd, { privateKey: Redacted.make(garbage) })))
      assert.strictEqual(error._tag === "SshError" && error.kind, "auth")
      assert.notInclude(JSON.stringify(error), "c2VjcmV0")
    })))

  it.scopedLive("a closed port fails with kind connect", () => withTransport(Effect.gen(function* () {
    const ssh = yield* SshTransport
    const port = yield* Effect.promise(() => freePort())
    const error = yield* Effect.flip(ssh.connect(targetOf(sshd, { port })))
    assert.strictEqual(error._tag === "SshError" && error.kind, "connect")
  })))

  it.scopedLive("runs an interactive shell with a PTY", () => withTransport(Effect.gen(function* () {
    const s = yield* session
    const r = yield* Effect.scoped(Effect.gen(function* () {
      const proc = yield* s.shell({ term: "xterm", cols: 100, rows: 30 })
      yield* proc.resize(120, 40)
      const [stdout, , , status] = yield* Effect.all([
        text(proc.stdout), Stream.runDrain(proc.stderr),
        Stream.run(Stream.make(bytes("stty size; echo h''i; exit 3\n")), proc.stdin), proc.exit
      ], { concurrency: "unbounded" })
      return { stdout, code: status.code }
    }))
    assert.strictEqual(r.code, 3)
    assert.include(r.stdout, "hi")
    assert.include(r.stdout, "40 120")
  })))

  it.scopedLive("exec with a PTY sees a terminal", () => withTransport(Effect.gen(function* () {
    const r = yield* run(yield* session, { command: "test -t 1 && echo tty", pty: { term: "xterm", cols: 80, rows: 24 } })
    assert.strictEqual(r.stdout.trim(), "tty")
    assert.strictEqual(r.code, 0)
  })))

  it.scopedLive("runs execs concurrently on one session", () => withTransport(Effect.gen(function* () {
    const s = yield* session
    const [elapsed, outs] = yield* Effect.timed(Effect.forEach(Chunk.range(1, 12),
      (i) => run(s, { command: `sleep 1; echo ${i}` }), { concurrency: "unbounded" }))
    assert.deepStrictEqual(outs.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `${i + 1}\n`))
    // Twelve one-second commands in well under twelve seconds: they ran side by side.
    assert.isBelow(Duration.toMillis(elapsed), 6_000)
  })))

  // With a PTY, closing the channel hangs up the terminal. Without one, only a "signal" request
  // (sent too, best effort) can stop a silent process, and sshd refuses it for root logins.
  it.scopedLive("a PTY process still running when its scope closes is hung up", () =>
    withTransport(Effect.gen(function* () {
      const s = yield* session
      yield* Effect.scoped(Effect.gen(function* () {
        const proc = yield* s.exec({ command: "exec sleep 31.4159", pty: { term: "xterm", cols: 80, rows: 24 } })
        yield* Effect.forkScoped(Stream.runDrain(proc.stdout))
        yield* Effect.sleep("300 millis")
      }))
      // `[3]` keeps pgrep's own shell from matching the pattern.
      yield* run(s, { command: "pgrep -f 'sleep [3]1.4159'" }).pipe(
        Effect.filterOrFail((r) => r.code === 1, () => "still running"),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("5 seconds"))))
    })))

  it.scopedLive("probe succeeds and returns the presented host key", () => withTransport(Effect.gen(function* () {
    const ssh = yield* SshTransport
    const key = yield* ssh.probe(targetOf(sshd), "10 seconds")
    assert.strictEqual(formatHostKey(key), sshd.hostPublicKey())
  })))

  it.scopedLive("probe against a closed port fails with kind connect", () => withTransport(Effect.gen(function* () {
    const ssh = yield* SshTransport
    const port = yield* Effect.promise(() => freePort())
    const error = yield* Effect.flip(ssh.probe(targetOf(sshd, { port }), "10 seconds"))
    assert.strictEqual(error._tag === "SshError" && error.kind, "connect")
  })))
})

describe("Ssh2Transport against a server that never speaks", () => {
  let silent: Server
  let port: number
  const open = new Set<Socket>()
  beforeAll(async () => {
    // Accept, read and discard, never answer: the handshake cannot start.
    silent = createServer((socket) => {
      open.add(socket)
      socket.on("close", () => open.delete(socket)).resume()
    })
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    port = (silent.address() as { port: number }).port
  })
  afterAll(async () => { await new Promise((resolve) => silent.close(resolve)) })

  const silentTarget = (connectTimeoutMs: number): SshTarget => ({
    host: "127.0.0.1", port, user: "nobody",
    privateKey: Redacted.make(generateEd25519KeyPair().private), connectTimeoutMs
  })

  /** The adapter hung up: no half-open connection is left behind by a failed connect. */
  const noConnectionLeft = Effect.suspend(() => open.size === 0 ? Effect.void : Effect.fail("connection left open")).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("2 seconds"))))

  it.scopedLive("connect gives up after connectTimeoutMs with kind timeout", () => withTransport(Effect.gen(function* () {
    const ssh = yield* SshTransport
    const error = yield* Effect.flip(ssh.connect(silentTarget(300)))
    assert.strictEqual(error._tag === "SshError" && error.kind, "timeout")
    yield* noConnectionLeft
  })))

  it.scopedLive("probe honours its own deadline, shorter than connectTimeoutMs", () =>
    withTransport(Effect.gen(function* () {
      const ssh = yield* SshTransport
      const [elapsed, error] = yield* Effect.timed(Effect.flip(ssh.probe(silentTarget(30_000), "300 millis")))
      assert.strictEqual(error._tag === "SshError" && error.kind, "timeout")
      assert.isBelow(Duration.toMillis(elapsed), 5_000)
      yield* noConnectionLeft
    })))
})

describe("Ssh2Transport when the host key changes", () => {
  let sshd: TestSshd
  beforeAll(async () => { sshd = await startSshd() })
  afterAll(async () => { await sshd?.stop() })

  it.scopedLive("a key pinned before a rotation is refused after it", () => withTransport(Effect.gen(function* () {
    const ssh = yield* SshTransport
    const pinned = yield* ssh.probe(targetOf(sshd), "10 seconds")
    yield* Effect.promise(() => sshd.rotateHostKey())
    const error = yield* Effect.flip(Effect.scoped(ssh.connect(targetOf(sshd, { pinnedHostKey: pinned }))))
    assert.strictEqual(error._tag, "HostKeyMismatch")
    if (error._tag !== "HostKeyMismatch") return
    assert.strictEqual(error.expected, opensshFingerprint(formatHostKey(pinned)))
    assert.strictEqual(error.actual, opensshFingerprint(sshd.hostPublicKey()))
  })))
})
