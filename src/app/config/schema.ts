/**
 * The configuration model, keys as written in YAML. Adding a provider section means
 * adding its schema here and its rows to the env and flag tables (envLayer.ts, flagLayer.ts);
 * the loader, precedence, validation messages and `config show` follow from these.
 * No field may hold a credential: secrets come only from the environment (secrets.ts).
 */
import { Schema } from "effect"
import {
  AbsolutePath, EnvVarPattern, listOf, NonBlank, Port, PositiveDuration, section, SshUser, Target, Toggle
} from "./fields.js"

export const EnvSection = section({
  /** Local variables forwarded to the remote command; `AWS_*` forwards a prefix. */
  allow: listOf(EnvVarPattern)
})

// Deletions and the fingerprint shortcut always apply (the Go original's sync.delete and
// sync.fingerprint switches are not offered: a key that did nothing would mislead).
export const SyncSection = section({
  exclude: listOf(NonBlank),
  /** Sync past the size guardrail. */
  allowLarge: Toggle
})

export const SshSection = section({
  host: Schema.optional(NonBlank),
  port: Schema.optional(Port),
  user: Schema.optional(SshUser),
  /** Path of a private key file; the key itself never lives in config. */
  key: Schema.optional(NonBlank),
  workRoot: Schema.optional(AbsolutePath)
})

/**
 * Sections other issues will define (fal, freestyle, modal). Until then they pass through
 * as written, still subject to the secret check; replace a row with its real schema.
 */
const PendingProviderSections = {
  fal: Schema.optional(Schema.Unknown),
  freestyle: Schema.optional(Schema.Unknown),
  modal: Schema.optional(Schema.Unknown)
}

export const CrabboxConfig = section({
  provider: NonBlank,
  target: Target,
  ttl: PositiveDuration,
  idleTimeout: PositiveDuration,
  workRoot: AbsolutePath,
  env: EnvSection,
  sync: SyncSection,
  // every field is optional, so a config that names no SSH setting still has the section
  ssh: Schema.optionalWith(SshSection, { default: () => ({}) }),
  ...PendingProviderSections
})
export type CrabboxConfig = typeof CrabboxConfig.Type
/** The YAML form: durations as `90m`, ports as numbers. */
export type CrabboxConfigEncoded = typeof CrabboxConfig.Encoded

/** The lowest layer. Written in the YAML form so it goes through the same validation. */
export const CONFIG_DEFAULTS = {
  provider: "ssh",
  target: "linux",
  ttl: "90m",
  idleTimeout: "30m",
  workRoot: "/work/crabbox",
  env: { allow: ["CI", "NODE_OPTIONS"] },
  sync: { exclude: [], allowLarge: false }
} as const satisfies Partial<CrabboxConfigEncoded>
