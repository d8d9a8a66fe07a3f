/**
 * Key handling for the local SSH server: the host key, the authorized client keys, and the
 * public-key check ssh2 asks for on each authentication request.
 */
import { Effect } from "effect"
import { timingSafeEqual } from "node:crypto"
import { utils, type AuthContext, type ParsedKey } from "ssh2"
import type { HostKey } from "../../../domain/sshTarget.js"
import { hostKeyFromBlob } from "../hostKey.js"
import { SshServerError } from "./SshServerError.js"

export interface ServerHostKey {
  /** Private key text, as ssh2's `Server` takes it. */
  readonly privateKey: string
  readonly publicKey: HostKey
}

export interface AuthorizedKey {
  readonly type: string
  readonly blob: Buffer
  readonly parsed: ParsedKey
}

/** ssh2 returns an array for some OpenSSH files; OpenSSH stores one key per file today. */
const parse = (text: string): ParsedKey | Error => {
  const parsed: ParsedKey | ReadonlyArray<ParsedKey> | Error = utils.parseKey(text)
  if (parsed instanceof Error) return parsed
  if (Array.isArray(parsed)) return parsed[0] ?? new Error("no key found")
  return parsed as ParsedKey
}

const unreadable = () =>
  new SshServerError({ operation: "host-key", message: "the host key is not a private key ssh2 can read" })

const fromPrivateKey = (text: string): Effect.Effect<ServerHostKey, SshServerError> => {
  const parsed = parse(text)
  return parsed instanceof Error || !parsed.isPrivateKey()
    ? Effect.fail(unreadable())
    : Effect.succeed({ privateKey: text, publicKey: hostKeyFromBlob(parsed.getPublicSSH()) })
}

/**
 * About 1 in 256 ed25519 keys from ssh2 1.17's `generateKeyPairSync` cannot be read back:
 * it strips a leading zero byte of the public key (mscdex/ssh2#1390, #1513). Such a key is
 * thrown away and another generated; ten misses in a row would take a broken ssh2.
 */
const generatedHostKey = Effect.suspend(() => fromPrivateKey(utils.generateKeyPairSync("ed25519").private)).pipe(
  Effect.retry({ times: 10 })
)

/** The given private key, or a fresh ed25519 one. Parse errors never echo the key text. */
export const loadHostKey = (privateKey: string | undefined): Effect.Effect<ServerHostKey, SshServerError> =>
  privateKey === undefined ? generatedHostKey : fromPrivateKey(privateKey)

/** `[options] type base64 [comment]`, as in authorized_keys; the options are not honoured. */
const keyText = (line: string): string | undefined => {
  const tokens = line.trim().split(/\s+/)
  const at = tokens.findIndex((t, i) => /^(ssh-|ecdsa-|sk-)/.test(t) && tokens[i + 1] !== undefined)
  return at === -1 ? undefined : `${tokens[at]} ${tokens[at + 1]}`
}

/** Blank lines and `#` comments are skipped; any other line must hold a public key. */
export const parseAuthorizedKeys = (
  lines: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<AuthorizedKey>, SshServerError> =>
  Effect.forEach(
    lines.flatMap((text) => text.split("\n")).filter((l) => l.trim() !== "" && !l.trim().startsWith("#")),
    (line, index) => {
      const text = keyText(line)
      const parsed = text === undefined ? new Error("no key type") : parse(text)
      return parsed instanceof Error
        ? Effect.fail(new SshServerError({
          operation: "authorized-keys", message: `authorized key ${index + 1} is not an OpenSSH public key line`
        }))
        : Effect.succeed({ type: parsed.type, blob: parsed.getPublicSSH(), parsed })
    }
  )

const sameBlob = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b)

/**
 * Public key only (never `none`, `password`, keyboard-interactive or hostbased). A request
 * without a signature is the client asking whether the key would do: accepting it makes ssh2
 * answer PK_OK, and the client then signs. Returns the username once a signature verifies.
 */
export const authenticate = (authorized: ReadonlyArray<AuthorizedKey>, ctx: AuthContext): string | undefined => {
  if (ctx.method !== "publickey") {
    ctx.reject(["publickey"])
    return undefined
  }
  const key = authorized.find((k) => k.type === ctx.key.algo && sameBlob(k.blob, ctx.key.data))
  if (key === undefined) {
    ctx.reject(["publickey"])
    return undefined
  }
  if (ctx.signature === undefined) {
    ctx.accept()
    return undefined
  }
  if (ctx.blob === undefined || key.parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
    ctx.reject(["publickey"])
    return undefined
  }
  ctx.accept()
  return ctx.username
}
