/**
 * The configuration model, keys as written in YAML. Adding a provider section means
 * adding its schema here and its rows to the env and flag tables (envLayer.ts, flagLayer.ts);
 * the loader, precedence, validation messages and `config show` follow from these.
 * No field may hold a credential: secrets come only from the environment (secrets.ts).
 */
import { Schema } from "effect"
import {
  AbsolutePath, EnvVarPattern, listOf, NonBlank, Port, PositiveDuration, PositiveInt, section, SshUser, Target, Toggle
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

/** fal Compute. The key is never here: `CRABBOX_FAL_KEY` / `FAL_KEY` only. */
export const FalSection = section({
  /** a repo file may not set it (it decides where the key is sent) */
  apiUrl: Schema.optional(NonBlank),
  /** API value (`gpu_1x_h100_sxm5`) or display name (`1xH100-SXM`) */
  instanceType: Schema.optional(NonBlank),
  sector: Schema.optional(NonBlank.pipe(Schema.filter((s) => ["sector_1", "sector_2", "sector_3"].includes(s), {
    message: () => "must be sector_1, sector_2 or sector_3"
  }))),
  user: Schema.optional(SshUser),
  workRoot: Schema.optional(AbsolutePath)
})

/** Freestyle VMs (delegated run). The key is never here: `CRABBOX_FREESTYLE_API_KEY` / `FREESTYLE_API_KEY`. */
export const FreestyleSection = section({
  apiUrl: Schema.optional(NonBlank),
  /** relative, below /workspace */
  workdir: Schema.optional(NonBlank),
  vcpus: Schema.optional(PositiveInt),
  memoryGB: Schema.optional(PositiveInt)
})

/** Modal sandboxes (delegated run through the local Modal Python client). */
export const ModalSection = section({
  app: Schema.optional(NonBlank),
  image: Schema.optional(NonBlank),
  workdir: Schema.optional(AbsolutePath),
  /** the local Python that has the `modal` package */
  python: Schema.optional(NonBlank)
})

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
  fal: Schema.optionalWith(FalSection, { default: () => ({}) }),
  freestyle: Schema.optionalWith(FreestyleSection, { default: () => ({}) }),
  modal: Schema.optionalWith(ModalSection, { default: () => ({}) })
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
