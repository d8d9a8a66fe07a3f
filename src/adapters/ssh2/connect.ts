/** Open one authenticated ssh2 connection, with host-key pinning, as a scoped resource. */
import { Effect, Redacted } from "effect"
import ssh2, { type Client as SshClient, type ConnectConfig } from "ssh2"

// ssh2 is CommonJS: Node's ESM loader only sees its default export.
const { Client, utils } = ssh2
import { HostKeyMismatch, SshError } from "../../domain/errors.js"
import type { HostKey, SshTarget } from "../../domain/sshTarget.js"
import { fingerprint, hostKeyFromBlob, hostKeyPreference, sameHostKey } from "./hostKey.js"

export interface Connected {
  readonly client: SshClient
  /** The key the server presented during the handshake. */
  readonly hostKey: HostKey
}

/** ssh2 tags its errors with `level` (where they arose) and sometimes `code` (errno or disconnect reason). */
interface Ssh2Error extends Error {
  readonly level?: string
  readonly code?: string | number
}

const connectCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET"])

const kindOf = (err: Ssh2Error): SshError["kind"] => {
  if (err.level === "client-timeout" || err.code === "ETIMEDOUT") return "timeout"
  if (err.level === "client-authentication") return "auth"
  if (err.level === "client-socket" || err.level === "client-dns") return "connect"
  if (typeof err.code === "string" && connectCodes.has(err.code)) return "connect"
  return "protocol"
}

const what: Record<SshError["kind"], string> = {
  connect: "cannot reach",
  auth: "authentication refused by",
  timeout: "timed out connecting to",
  channel: "channel failed on",
  closed: "connection closed by",
  protocol: "SSH protocol error with"
}

/**
 * ssh2 messages name hosts, errnos and protocol steps, never key material; the key never
 * reaches a message because only its parse result (not its text) is ever reported.
 */
export const toSshError = (target: SshTarget, err: Ssh2Error, kind: SshError["kind"] = kindOf(err)): SshError =>
  new SshError({
    kind,
    host: target.host,
    port: target.port,
    message: `${what[kind]} ${target.host}:${target.port}: ${err.message}`
  })

const mismatch = (target: SshTarget, expected: HostKey, actual: HostKey) =>
  new HostKeyMismatch({ host: target.host, port: target.port, expected: fingerprint(expected), actual: fingerprint(actual) })

const connectConfig = (target: SshTarget, verify: (blob: Buffer) => boolean): ConnectConfig => {
  const preference = hostKeyPreference(target.pinnedHostKey)
  return {
    host: target.host,
    port: target.port,
    username: target.user,
    privateKey: Redacted.value(target.privateKey),
    // Public key only: never an agent, a password or keyboard-interactive prompts.
    authHandler: ["publickey"],
    tryKeyboard: false,
    readyTimeout: target.connectTimeoutMs ?? 20_000,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 3,
    hostVerifier: verify,
    ...(preference === undefined ? {} : { algorithms: { serverHostKey: preference } })
  }
}

/**
 * TCP, handshake, host-key check, public-key auth, then `end()` when the scope closes.
 * The connect inherits the caller's interruptibility: interruptible for a probe whose
 * deadline is shorter than `readyTimeout` (the canceller destroys the half-open client), but
 * not inside a finalizer, where a release after Ctrl-C must still reach the host (bounded by
 * `readyTimeout`). Forcing it interruptible would cancel that release at once.
 */
export const connectClient = (target: SshTarget) =>
  Effect.uninterruptibleMask((restore) =>
    restore(Effect.async<Connected, SshError | HostKeyMismatch>((resume) => {
      // Fail before dialing rather than after a handshake; the parse error text stays out of the message.
      if (utils.parseKey(Redacted.value(target.privateKey)) instanceof Error) {
        resume(Effect.fail(new SshError({
          kind: "auth", host: target.host, port: target.port, message: "the private key could not be parsed"
        })))
        return
      }
      const client = new Client()
      const fail = (error: SshError | HostKeyMismatch) => {
        client.end()
        resume(Effect.fail(error))
      }
      // Written by the verifier during the handshake, which always precedes "ready".
      let presented: HostKey | undefined
      const verify = (blob: Buffer): boolean => {
        const actual = hostKeyFromBlob(blob)
        presented = actual
        const pin = target.pinnedHostKey
        if (pin !== undefined && !sameHostKey(pin, actual)) {
          fail(mismatch(target, pin, actual))
          return false // ssh2 aborts the handshake: no authentication is attempted
        }
        return true
      }
      // Stays attached for the client's life: ssh2 also emits errors after "ready"
      // (keepalive timeouts, resets), and an unheard "error" event would crash the process.
      // Those surface to callers as channels closed without an exit status.
      client.on("error", (err: Ssh2Error) => fail(toSshError(target, err)))
      client.once("close", () =>
        fail(new SshError({
          kind: "connect", host: target.host, port: target.port,
          message: `${target.host}:${target.port} closed the connection before authentication`
        })))
      client.once("ready", () => {
        if (presented === undefined) {
          fail(new SshError({
            kind: "protocol", host: target.host, port: target.port, message: "the server presented no host key"
          }))
        } else {
          resume(Effect.succeed({ client, hostKey: presented }))
        }
      })
      // ssh2 throws synchronously on an invalid config; this callback is the adapter's edge.
      try {
        client.connect(connectConfig(target, verify))
      } catch (err) {
        fail(toSshError(target, err as Ssh2Error, "connect"))
      }
      return Effect.sync(() => client.destroy())
    })).pipe(Effect.tap(({ client }) => Effect.addFinalizer(() => Effect.sync(() => client.end()))))
  )
