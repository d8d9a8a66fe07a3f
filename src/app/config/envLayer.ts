/**
 * The environment layer. Variables are read through Effect `Config`, so tests supply them
 * with `ConfigProvider.fromMap`. Credentials are not here: providers read their own keys.
 */
import { Array as Arr, Config, Effect, Option } from "effect"
import { ConfigError } from "../../domain/errors.js"
import type { ConfigLayer, Leaf } from "./layers.js"

export interface EnvRow {
  readonly variable: string
  /** Dotted config key the variable sets. */
  readonly key: string
  /** `list`: a comma-separated value that replaces the whole list. */
  readonly kind?: "list"
}

export const ENV_VARIABLES: ReadonlyArray<EnvRow> = [
  { variable: "CRABBOX_PROVIDER", key: "provider" },
  { variable: "CRABBOX_TARGET", key: "target" },
  { variable: "CRABBOX_TTL", key: "ttl" },
  { variable: "CRABBOX_IDLE_TIMEOUT", key: "idleTimeout" },
  { variable: "CRABBOX_WORK_ROOT", key: "workRoot" },
  { variable: "CRABBOX_ENV_ALLOW", key: "env.allow", kind: "list" },
  { variable: "CRABBOX_SYNC_ALLOW_LARGE", key: "sync.allowLarge" },
  { variable: "CRABBOX_SSH_HOST", key: "ssh.host" },
  { variable: "CRABBOX_SSH_PORT", key: "ssh.port" },
  { variable: "CRABBOX_SSH_USER", key: "ssh.user" },
  { variable: "CRABBOX_SSH_KEY", key: "ssh.key" },
  { variable: "CRABBOX_SSH_WORK_ROOT", key: "ssh.workRoot" },
  { variable: "CRABBOX_FAL_API_URL", key: "fal.apiUrl" },
  { variable: "CRABBOX_FAL_INSTANCE_TYPE", key: "fal.instanceType" },
  { variable: "CRABBOX_FAL_SECTOR", key: "fal.sector" },
  { variable: "CRABBOX_FAL_USER", key: "fal.user" },
  { variable: "CRABBOX_FAL_WORK_ROOT", key: "fal.workRoot" },
  // later rows win within the layer: the CRABBOX_ spelling beats the vendor's
  { variable: "FREESTYLE_API_URL", key: "freestyle.apiUrl" },
  { variable: "CRABBOX_FREESTYLE_API_URL", key: "freestyle.apiUrl" },
  { variable: "CRABBOX_FREESTYLE_WORKDIR", key: "freestyle.workdir" },
  { variable: "CRABBOX_FREESTYLE_VCPUS", key: "freestyle.vcpus" },
  { variable: "CRABBOX_FREESTYLE_MEMORY_GB", key: "freestyle.memoryGB" },
  { variable: "CRABBOX_MODAL_APP", key: "modal.app" },
  { variable: "CRABBOX_MODAL_IMAGE", key: "modal.image" },
  { variable: "CRABBOX_MODAL_WORKDIR", key: "modal.workdir" },
  { variable: "CRABBOX_MODAL_PYTHON", key: "modal.python" }
]

/** `CI, NODE_OPTIONS,` -> `["CI", "NODE_OPTIONS"]` */
const splitList = (text: string): ReadonlyArray<string> =>
  text.split(",").map((item) => item.trim()).filter((item) => item !== "")

/** An unset variable, or one set to the empty string, sets nothing (as `os.Getenv` in the Go original). */
const readVariable = (row: EnvRow): Effect.Effect<Option.Option<readonly [string, Leaf]>, ConfigError> =>
  Config.option(Config.string(row.variable)).pipe(
    Effect.mapError((cause) => new ConfigError({ source: `env ${row.variable}`, key: row.key, message: String(cause) })),
    Effect.map((text) => Option.filter(text, (value) => value !== "").pipe(Option.map((value) => [row.key, {
      value: row.kind === "list" ? splitList(value) : value,
      source: `env ${row.variable}`,
      origin: "env"
    }] as const))))

export const envLayer = (rows: ReadonlyArray<EnvRow> = ENV_VARIABLES): Effect.Effect<ConfigLayer, ConfigError> =>
  Effect.forEach(rows, readVariable).pipe(Effect.map((entries) => new Map(Arr.getSomes(entries))))
