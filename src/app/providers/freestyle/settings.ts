/**
 * The freestyle section of the merged config, checked before any VM exists: the API URL may
 * not come from a repository file (it decides where the key goes), the workdir stays below
 * /workspace, sizing is a power of two. The key is read here, from the environment only.
 */
import { Config, Effect, Either, Option, Redacted } from "effect"
import { ConfigError } from "../../../domain/errors.js"
import type { CrabboxConfig } from "../../config/schema.js"
import type { ConfigureContext } from "../registry.js"

export const DEFAULT_API_URL = "https://api.freestyle.sh"
export const DEFAULT_WORKDIR = "crabbox"
export const WORKSPACE_ROOT = "/workspace"

export interface FreestyleSettings {
  readonly apiUrl: string
  readonly apiUrlSource: string
  /** absolute: `/workspace/<workdir>` */
  readonly workspace: string
  readonly vcpus: Option.Option<number>
  readonly memoryGB: Option.Option<number>
  readonly key: Option.Option<Redacted.Redacted<string>>
}

/** `sub/dir` -> `/workspace/sub/dir`; absolute paths, `..` and `/workspace` itself (`.`) are refused. */
export const workspaceFor = (workdir: string): Either.Either<string, string> => {
  const text = workdir.trim()
  if (text.startsWith("/")) return Either.left(`must be relative under ${WORKSPACE_ROOT} (got ${JSON.stringify(workdir)})`)
  if (text.includes("\0")) return Either.left("must not contain a NUL byte")
  const parts: Array<string> = []
  for (const part of text.split("/")) {
    if (part === "" || part === ".") continue
    // refused even where it would stay inside (`a/../b`): a workdir never needs one
    if (part === "..") return Either.left(`must not contain .. (it could escape ${WORKSPACE_ROOT}; got ${JSON.stringify(workdir)})`)
    parts.push(part)
  }
  if (parts.length === 0) return Either.left(`escapes ${WORKSPACE_ROOT} (got ${JSON.stringify(workdir)}); name a directory below it`)
  return Either.right(`${WORKSPACE_ROOT}/${parts.join("/")}`)
}

export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0

const nonEmpty = (name: string) =>
  Config.option(Config.redacted(name)).pipe(Config.map(Option.filter((v) => Redacted.value(v).trim() !== "")))

/** `CRABBOX_FREESTYLE_API_KEY` wins over `FREESTYLE_API_KEY`; never a flag, never a file. */
export const readFreestyleKey: Effect.Effect<Option.Option<Redacted.Redacted<string>>> = Effect.gen(function* () {
  const own = yield* nonEmpty("CRABBOX_FREESTYLE_API_KEY")
  return Option.isSome(own) ? own : yield* nonEmpty("FREESTYLE_API_KEY")
}).pipe(Effect.orElseSucceed(() => Option.none()))

export const freestyleSettings = (config: CrabboxConfig, context: ConfigureContext) =>
  Effect.gen(function* () {
    const section = config.freestyle
    const source = (key: string) => context.sources[key] ?? "default"
    if (section.apiUrl !== undefined && context.origins["freestyle.apiUrl"] === "repo-file") {
      return yield* new ConfigError({
        source: source("freestyle.apiUrl"), key: "freestyle.apiUrl",
        message: "may not be set by a repository config file (it decides where the Freestyle key is sent); " +
          "set it in your user config, FREESTYLE_API_URL, CRABBOX_FREESTYLE_API_URL or --freestyle-api-url"
      })
    }
    const workspace = yield* Either.match(workspaceFor(section.workdir ?? DEFAULT_WORKDIR), {
      onLeft: (message) => Effect.fail(new ConfigError({ source: source("freestyle.workdir"), key: "freestyle.workdir", message })),
      onRight: Effect.succeed
    })
    for (const [key, value] of [["freestyle.vcpus", section.vcpus], ["freestyle.memoryGB", section.memoryGB]] as const) {
      if (value !== undefined && !isPowerOfTwo(value)) {
        return yield* new ConfigError({
          source: source(key), key,
          message: `must be a power of two (1, 2, 4, 8, 16, ...); got ${value}. freestyle.vcpus and freestyle.memoryGB ` +
            "(--freestyle-vcpus, --freestyle-memory-gb) are both powers of two, or unset for the plan defaults"
        })
      }
    }
    return {
      apiUrl: section.apiUrl ?? DEFAULT_API_URL,
      apiUrlSource: section.apiUrl === undefined ? "default" : source("freestyle.apiUrl"),
      workspace,
      vcpus: Option.fromNullable(section.vcpus),
      memoryGB: Option.fromNullable(section.memoryGB),
      key: yield* readFreestyleKey
    } satisfies FreestyleSettings
  })
