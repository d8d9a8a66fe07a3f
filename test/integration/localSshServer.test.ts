import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Schedule, Scope } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client, utils, type ClientChannel, type ConnectConfig } from "ssh2"
import { type LocalSshServer, startLocalSshServer } from "../../src/adapters/ssh2/LocalSshServer.js"
import { generateEd25519KeyPair } from "../../src/adapters/shared/ed25519KeyPair.js"

interface KeyPair {
  readonly privateKey: string
  readonly publicKey: string
  readonly path: string
}

/** A temp dir removed with the scope. */
const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => realpathSync(mkdtempSync(join(tmpdir(), prefix)))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))

/** ssh2 1.17 makes an unreadable ed25519 key about 1 time in 256 (mscdex/ssh2#1390): retry. */
const readablePair = (name: string, attempts = 10): { private: string; public: string } => {
  const pair = generateEd25519KeyPair(`crabbox-test ${name}`)
  const readable = !(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)
  return readable || attempts <= 1 ? pair : readablePair(name, attempts - 1)
}

/** ssh refuses a key file others can read: 0600. */
const keyPair = (dir: string, name: string): KeyPair => {
  const pair = readablePair(name)
  const path = join(dir, name)
  writeFileSync(path, pair.private, { mode: 0o600 })
  chmodSync(path, 0o600)
  return { privateKey: pair.private, publicKey: pair.public, path }
}

interface Fixture {
  readonly server: LocalSshServer
  readonly key: KeyPair
  readonly cwd: string
  readonly dir: string
}

const fixture = (options: { readonly acceptDelay?: Duration.DurationInput } = {}) =>
  Effect.gen(function* () {
    const dir = yield* tempDir("crabbox-localssh-")
    const cwd = join(dir, "work")
    mkdirSync(cwd)
    const key = keyPair(dir, "client_ed25519")
    const server = yield* startLocalSshServer({ authorizedKeys: [key.publicKey], cwd, port: 0, ...options })
    return { server, key, cwd, dir } satisfies Fixture
  })

// ---- ssh2's Client, driven directly ----------------------------------------------------

const connect = (server: LocalSshServer, config: Partial<ConnectConfig>) =>
  Effect.acquireRelease(
    Effect.async<Client, Error & { level?: string }>((resume) => {
      const client = new Client()
      client.once("ready", () => resume(Effect.succeed(client)))
      // Stays attached: a reset after "ready" (the server closing) must not crash the test run.
      client.on("error", (err) => resume(Effect.fail(err)))
      client.connect({
        host: server.host, port: server.port, username: "crab", readyTimeout: 10_000,
        hostVerifier: (blob: Buffer) => blob.toString("base64") === server.hostKey.base64,
        ...config
      })
      return Effect.sync(() => client.destroy())
    }),
    (client) => Effect.sync(() => client.end()))

const connectWith = (f: Fixture) => connect(f.server, { privateKey: f.key.privateKey })

interface Ran {
  readonly code: number | null
  readonly signal: string | undefined
  readonly stdout: string
  readonly stderr: string
  readonly stdoutBytes: number
}

/** Collect a channel's output (text capped at 1 MB; bytes always counted) until it closes. */
const collect = (channel: ClientChannel, input: Buffer | undefined) =>
  Effect.async<Ran>((resume) => {
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    let stdoutBytes = 0
    channel.on("data", (d: Buffer) => {
      stdoutBytes += d.length
      if (stdoutBytes <= 1 << 20) out.push(d)
    })
    channel.stderr.on("data", (d: Buffer) => err.push(d))
    channel.on("close", (code: number | null, signal?: string) =>
      resume(Effect.succeed({
        code, signal, stdoutBytes,
        stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()
      })))
    if (input !== undefined) channel.end(input)
    else channel.end()
  })

const opened = (start: (callback: (err: Error | undefined, channel: ClientChannel) => void) => void) =>
  Effect.async<ClientChannel, Error>((resume) => {
    start((err, channel) => resume(err ? Effect.fail(err) : Effect.succeed(channel)))
  })

const exec = (client: Client, command: string, options: { input?: Buffer; env?: Record<string, string> } = {}) =>
  opened((cb) => client.exec(command, { env: options.env ?? {} }, cb)).pipe(
    Effect.flatMap((channel) => collect(channel, options.input)))

/** Starts `command`, which must print a pid first, and returns that pid. */
const startPrintingPid = (client: Client, command: string) =>
  opened((cb) => client.exec(command, cb)).pipe(
    Effect.flatMap((channel) => Effect.async<number>((resume) => {
      channel.once("data", (d: Buffer) => resume(Effect.succeed(Number(d.toString()))))
    })))

// ---- the OpenSSH client --------------------------------------------------------------

interface SshRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

interface SshOptions {
  readonly input?: Buffer
  readonly key?: KeyPair
  /** Extra arguments before the destination. */
  readonly args?: ReadonlyArray<string>
}

/** `ssh [args] crab@127.0.0.1 [command]`; no command asks for a shell. */
const ssh = (f: Fixture, command: string | undefined, options: SshOptions = {}) =>
  Effect.async<SshRun>((resume) => {
    const child = spawn("/usr/bin/ssh", [
      "-F", "/dev/null", "-i", (options.key ?? f.key).path, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
      "-o", "LogLevel=ERROR", "-p", String(f.server.port), ...(options.args ?? []), `crab@${f.server.host}`,
      ...(command === undefined ? [] : [command])
    ], { stdio: "pipe" })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (d: Buffer) => out.push(d))
    child.stderr.on("data", (d: Buffer) => err.push(d))
    child.on("close", (code) =>
      resume(Effect.succeed({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })))
    child.stdin.end(options.input)
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/**
 * Retries until `pid` is dead, for at most 5 s. A killed process whose parent died too waits
 * as a zombie until init reaps it, which in a container can take a while: a zombie counts.
 */
const gone = (pid: number) =>
  Effect.sync(() => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    } catch {
      return "gone"
    }
  }).pipe(
    Effect.filterOrFail((state) => state === "gone" || state === "Z", (state) => `process ${pid} still in state ${state}`),
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("5 seconds"))))

const smallTar = (dir: string): Buffer => {
  const src = join(dir, "src")
  mkdirSync(join(src, "sub"), { recursive: true })
  writeFileSync(join(src, "a.txt"), "alpha\n")
  writeFileSync(join(src, "sub", "b.txt"), "beta\n")
  return execFileSync("tar", ["-c", "-f", "-", "-C", src, "."])
}

describe("LocalSshServer with ssh2's Client", () => {
  it.scopedLive("reports exit codes 0, 1 and 42, and counts the channels", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const runs = yield* Effect.forEach(["exit 0", "exit 1", "exit 42"], (command) => exec(client, command))
    assert.deepStrictEqual(runs.map((r) => r.code), [0, 1, 42])
    assert.strictEqual(yield* f.server.sessions, 3)
    assert.deepStrictEqual(yield* f.server.logins, ["crab"])
  }))

  it.scopedLive("keeps stdout and stderr apart and starts in cwd", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const r = yield* exec(client, "echo out; echo err >&2; pwd")
    assert.strictEqual(r.stdout, `out\n${f.cwd}\n`)
    assert.strictEqual(r.stderr, "err\n")
  }))

  it.scopedLive("pipes stdin to the command and ends it on EOF", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const r = yield* exec(client, "wc -c", { input: Buffer.alloc(3 * 1024 * 1024 + 7, 120) })
    assert.strictEqual(r.stdout.trim(), String(3 * 1024 * 1024 + 7))
    assert.strictEqual(r.code, 0)
  }))

  it.scopedLive("drops input nobody reads instead of stalling", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const r = yield* exec(client, "head -c 10", { input: Buffer.alloc(8 * 1024 * 1024, 97) })
    assert.strictEqual(r.stdout, "aaaaaaaaaa")
    assert.strictEqual(r.code, 0)
  }))

  it.scopedLive("forwards a signal request to the command", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const channel = yield* opened((cb) => client.exec("echo started; sleep 30", cb))
    const signal = yield* Effect.async<string | undefined>((resume) => {
      channel.on("close", (_code: number | null, name?: string) => resume(Effect.succeed(name)))
      // ssh2 sends signal requests only while the channel is writable: end stdin afterwards.
      channel.once("data", () => {
        channel.signal("TERM")
        channel.end()
      })
    })
    assert.match(signal ?? "", /^(SIG)?TERM$/)
  }))

  it.scopedLive("streams 20 MB of stdout", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const r = yield* exec(client, "head -c 20971520 /dev/zero | cat")
    assert.strictEqual(r.stdoutBytes, 20971520)
    assert.strictEqual(r.code, 0)
  }))

  it.scopedLive("passes env requests, over a minimal environment", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const value = `it's "quoted" $HOME and  spaces`
    const r = yield* exec(client, `printf '%s' "$CRABBOX_A"; echo; env | cut -d= -f1 | sort`, { env: { CRABBOX_A: value } })
    const [first, ...names] = r.stdout.trimEnd().split("\n")
    assert.strictEqual(first, value)
    assert.include(names, "PATH")
    assert.include(names, "CRABBOX_A")
    // vitest sets VITEST in this process; the command must not inherit it.
    assert.notInclude(names, "VITEST")
  }))

  it.scopedLive("reports a command killed by a signal as exit-signal", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const r = yield* exec(client, "kill -TERM $$")
    assert.isNull(r.code)
    assert.match(r.signal ?? "", /^(SIG)?TERM$/)
  }))

  it.scopedLive("extracts a tar fed on stdin", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const r = yield* exec(client, "mkdir -p dest && tar -x -f - -C dest", { input: smallTar(f.dir) })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(readFileSync(join(f.cwd, "dest", "a.txt"), "utf8"), "alpha\n")
    assert.strictEqual(readFileSync(join(f.cwd, "dest", "sub", "b.txt"), "utf8"), "beta\n")
  }))

  it.scopedLive("runs /bin/sh -i for a shell, with or without a pty", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    for (const pty of [false, { term: "xterm" }] as const) {
      const channel = yield* opened((cb) => client.shell(pty, cb))
      const r = yield* collect(channel, Buffer.from("echo hi-$TERM\nexit 5\n"))
      assert.strictEqual(r.code, 5)
      assert.include(r.stdout, pty === false ? "hi-\n" : "hi-xterm\n")
    }
  }))

  it.scopedLive("serves many channels and connections at once", () => Effect.gen(function* () {
    const f = yield* fixture()
    const clients = yield* Effect.all(Array.from({ length: 4 }, () => connectWith(f)), { concurrency: "unbounded" })
    const runs = yield* Effect.forEach(
      Array.from({ length: 32 }, (_, i) => i),
      (i) => exec(clients[i % clients.length]!, `sleep 0.2; echo ${i}; exit ${i % 7}`),
      { concurrency: "unbounded" })
    assert.deepStrictEqual(runs.map((r) => r.stdout), runs.map((_, i) => `${i}\n`))
    assert.deepStrictEqual(runs.map((r) => r.code), runs.map((_, i) => i % 7))
    assert.strictEqual(yield* f.server.sessions, 32)
  }))

  it.scopedLive("refuses a key it does not know, a password and none", () => Effect.gen(function* () {
    const f = yield* fixture()
    const stranger = keyPair(f.dir, "stranger")
    const wrongKey = yield* Effect.flip(connect(f.server, { privateKey: stranger.privateKey }))
    assert.strictEqual(wrongKey.level, "client-authentication")
    const password = yield* Effect.flip(connect(f.server, { password: "hunter2", authHandler: ["none", "password"] }))
    assert.strictEqual(password.level, "client-authentication")
    assert.deepStrictEqual(yield* f.server.logins, [])
  }))

  it.scopedLive("rejects the sftp subsystem", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    const failed = yield* Effect.async<boolean>((resume) => {
      client.sftp((err) => resume(Effect.succeed(err !== undefined)))
    })
    assert.isTrue(failed)
  }))

  it.scopedLive("a client disconnect kills that connection's commands", () => Effect.gen(function* () {
    const f = yield* fixture()
    const scope = yield* Scope.make()
    const client = yield* connectWith(f).pipe(Scope.extend(scope))
    const pid = yield* startPrintingPid(client, "sleep 300 & echo $!; wait")
    process.kill(pid, 0) // running
    yield* Scope.close(scope, Exit.void)
    yield* gone(pid)
  }))

  it.scopedLive("closing the server kills running commands and refuses new connections", () => Effect.gen(function* () {
    const f = yield* fixture()
    const client = yield* connectWith(f)
    // Ignores the hang-up: only the shutdown's SIGKILL ends it.
    const pid = yield* startPrintingPid(client, "trap '' HUP TERM; sleep 300 & echo $!; wait")
    yield* f.server.close
    yield* gone(pid)
    const refused = yield* Effect.flip(connectWith(f))
    assert.match(refused.message, /ECONNREFUSED/)
  }))

  it.scopedLive("presents a given host key; reads authorized_keys lines with options and comments", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("crabbox-localssh-")
      const host = readablePair("host")
      const key = keyPair(dir, "client")
      const server = yield* startLocalSshServer({
        authorizedKeys: ["# a comment", "", `no-pty,command="true" ${key.publicKey}`],
        hostKey: host.private,
        cwd: dir
      })
      assert.strictEqual(`${server.hostKey.algorithm} ${server.hostKey.base64}`, host.public.split(" ").slice(0, 2).join(" "))
      const client = yield* connect(server, { privateKey: key.privateKey })
      assert.strictEqual((yield* exec(client, "echo ok")).stdout, "ok\n")
    }))

  it.scopedLive("fails to start on a line that is not a public key", () => Effect.gen(function* () {
    const error = yield* Effect.flip(startLocalSshServer({ authorizedKeys: ["ssh-ed25519 not-base64!"], cwd: tmpdir() }))
    assert.strictEqual(error._tag, "SshServerError")
    assert.strictEqual(error.operation, "authorized-keys")
  }))

  it.scopedLive("holds connections back for acceptDelay", () => Effect.gen(function* () {
    const f = yield* fixture({ acceptDelay: "400 millis" })
    const started = Date.now()
    yield* connectWith(f)
    // Node timers may fire a millisecond or so early against Date.now().
    assert.isAtLeast(Date.now() - started, 390)
  }))
})

describe("LocalSshServer with the OpenSSH client", () => {
  it.scopedLive("runs commands with their exit codes, stdout and stderr", () => Effect.gen(function* () {
    const f = yield* fixture()
    const uname = yield* ssh(f, "uname -a")
    assert.strictEqual(uname.code, 0, uname.stderr)
    assert.match(uname.stdout, /\S/)
    const codes = yield* Effect.forEach(["exit 0", "exit 1", "exit 42", "exit 3"], (c) => ssh(f, c))
    assert.deepStrictEqual(codes.map((r) => r.code), [0, 1, 42, 3])
    const split = yield* ssh(f, "echo out; echo err >&2")
    assert.strictEqual(split.stdout, "out\n")
    assert.strictEqual(split.stderr, "err\n")
  }))

  it.scopedLive("pipes stdin, streams 20 MB and passes SetEnv", () => Effect.gen(function* () {
    const f = yield* fixture()
    const counted = yield* ssh(f, "wc -c", { input: Buffer.alloc(1024 * 1024, 97) })
    assert.strictEqual(counted.stdout.trim(), String(1024 * 1024))
    const big = yield* ssh(f, "head -c 20971520 /dev/zero | wc -c")
    assert.strictEqual(big.stdout.trim(), "20971520")
    const streamed = yield* ssh(f, "head -c 20971520 /dev/zero")
    assert.strictEqual(Buffer.byteLength(streamed.stdout), 20971520)
    const env = yield* ssh(f, `printf %s "$CRABBOX_B"`, { args: ["-o", "SetEnv=CRABBOX_B=from-openssh"] })
    assert.strictEqual(env.stdout, "from-openssh")
  }))

  it.scopedLive("extracts a tar fed on stdin", () => Effect.gen(function* () {
    const f = yield* fixture()
    const r = yield* ssh(f, `tar -x -f - -C ${f.cwd}`, { input: smallTar(f.dir) })
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(readFileSync(join(f.cwd, "sub", "b.txt"), "utf8"), "beta\n")
  }))

  it.scopedLive("serves a shell with a forced pty (-tt)", () => Effect.gen(function* () {
    const f = yield* fixture()
    const r = yield* ssh(f, undefined, { args: ["-tt"], input: Buffer.from("echo hi-$TERM\nexit 4\n") })
    assert.strictEqual(r.code, 4, r.stderr)
    assert.include(r.stdout, "hi-")
  }))

  it.scopedLive("refuses a key it does not know", () => Effect.gen(function* () {
    const f = yield* fixture()
    const r = yield* ssh(f, "true", { key: keyPair(f.dir, "stranger") })
    assert.strictEqual(r.code, 255)
    assert.match(r.stderr, /Permission denied/)
  }))
})
