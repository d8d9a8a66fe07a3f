/** Where and how to reach a lease over SSH. Provider-neutral; the private key stays Redacted. */
import { Schema } from "effect"

/** A host key in OpenSSH public form: algorithm plus base64 blob (as in known_hosts). */
export const HostKey = Schema.Struct({
  algorithm: Schema.String,
  base64: Schema.String
})
export type HostKey = typeof HostKey.Type

/** `ssh-ed25519 AAAA...` */
export const formatHostKey = (key: HostKey): string => `${key.algorithm} ${key.base64}`

export const SshTarget = Schema.Struct({
  host: Schema.String,
  port: Schema.Number,
  user: Schema.String,
  /** Private key in OpenSSH (or PEM) text form. */
  privateKey: Schema.Redacted(Schema.String),
  /** Path of the private key file, for printing an equivalent OpenSSH command. */
  privateKeyPath: Schema.optional(Schema.String),
  /** Key pinned for this lease; absent means trust on first use. */
  pinnedHostKey: Schema.optional(HostKey),
  /** Connect (TCP + handshake + auth) budget in milliseconds. */
  connectTimeoutMs: Schema.optional(Schema.Number)
})
export type SshTarget = typeof SshTarget.Type
