/**
 * Shared setup for the fal Compute emulator integration tests: start an emulator over real
 * sockets, call its HTTP API and admin endpoint, and log in to its SSH gateway with ssh2's Client.
 */
import { assert } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import { Client, type ClientChannel } from "ssh2"
import { generateEd25519KeyPair, type Ed25519KeyPair } from "../../src/adapters/shared/ed25519KeyPair.js"
import type { FalEmulatorOptions, RunningFalEmulator } from "../../src/app/cli/falEmulator.js"
import { startFalEmulator } from "../../src/emulator/fal/startFalEmulator.js"

export const KEY = "test-admin-key-0123456789"

export const start = (options: FalEmulatorOptions = {}) => startFalEmulator(options).pipe(Effect.provide(NodeContext.layer))

export interface Reply {
  readonly status: number
  readonly headers: Headers
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any
}

export interface CallOptions {
  readonly body?: unknown
  /** the Authorization header; default `Key <KEY>`, null for none */
  readonly authorization?: string | null
  readonly headers?: Record<string, string>
}

export const call = (emu: RunningFalEmulator, method: string, path: string, options: CallOptions = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers }
    const authorization = options.authorization === undefined ? `Key ${KEY}` : options.authorization
    if (authorization !== null) headers["authorization"] = authorization
    if (options.body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json"
    const response = await fetch(`${emu.apiUrl}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) })
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, json: text === "" ? undefined : JSON.parse(text) }
  })

export const admin = (emu: RunningFalEmulator, method: string, path: string, body?: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${emu.adminUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, json: (await response.json()) as any }
  })

export const create = (emu: RunningFalEmulator, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(emu, "POST", "/compute/instances", { body, headers })

export const keyPair = (name: string): Ed25519KeyPair => generateEd25519KeyPair(`fal-emulator-test ${name}`)

export const createFor = (emu: RunningFalEmulator, pair: Ed25519KeyPair) =>
  Effect.map(create(emu, { instance_type: "gpu_1x_h100_sxm5", ssh_key: pair.public }), (r) => {
    assert.strictEqual(r.status, 201)
    return r.json.id as string
  })

export const expectEnvelope = (reply: Reply, status: number, type: string) => {
  assert.strictEqual(reply.status, status)
  assert.strictEqual(reply.json.error.type, type)
  assert.isString(reply.json.error.message)
  assert.isString(reply.json.error.docs_url)
  assert.match(reply.json.error.request_id, /^req_[a-z0-9]{20}$/)
}

// ---- SSH through ssh2's Client --------------------------------------------------------

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const connect = (emu: RunningFalEmulator, pair: Ed25519KeyPair, username = "ubuntu") =>
  Effect.acquireRelease(
    Effect.async<Client, Error & { level?: string }>((resume) => {
      const client = new Client()
      client.once("ready", () => resume(Effect.succeed(client)))
      client.on("error", (err) => resume(Effect.fail(err)))
      client.connect({
        host: emu.sshHost, port: emu.sshPort, username, privateKey: pair.private, readyTimeout: 10_000,
        hostVerifier: (blob: Buffer) => blob.toString("base64") === emu.sshHostKey.base64
      })
      return Effect.sync(() => client.destroy())
    }),
    (client) => Effect.sync(() => client.end()))

export const opened = (client: Client, command: string) =>
  Effect.async<ClientChannel, Error>((resume) => {
    client.exec(command, (err, channel) => resume(err ? Effect.fail(err) : Effect.succeed(channel)))
  })

export const collect = (channel: ClientChannel) =>
  Effect.async<Ran>((resume) => {
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    channel.on("data", (d: Buffer) => out.push(d))
    channel.stderr.on("data", (d: Buffer) => err.push(d))
    channel.on("close", (code: number | null) =>
      resume(Effect.succeed({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })))
    channel.end()
  })

/**
 * Exits 99 before anything else runs unless the gateway maps `/home/ubuntu` (the second
 * spelling escapes the mapping), so a broken mapping never writes to this machine's real one.
 */
export const MAPPED = `[ /home/ubuntu != /home/ub""untu ] || exit 99; `

/** One connection, one command, the connection closed again. */
export const ssh = (emu: RunningFalEmulator, pair: Ed25519KeyPair, command: string, username = "ubuntu") =>
  Effect.scoped(Effect.flatMap(connect(emu, pair, username), (client) =>
    Effect.flatMap(opened(client, `${MAPPED}${command}`), collect)))

export const refused = (emu: RunningFalEmulator, pair: Ed25519KeyPair, username = "ubuntu") =>
  Effect.scoped(connect(emu, pair, username)).pipe(
    Effect.flip,
    Effect.map((err) => err.level))
