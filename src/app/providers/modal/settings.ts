/**
 * The modal section of the merged config, checked before the Python client is ever run:
 * a repository file may not choose `modal.python` (it names the local program crabbox
 * executes), and the workdir is an absolute, dedicated directory outside the system ones.
 */
import { Effect, Either } from "effect"
import { ConfigError } from "../../../domain/errors.js"
import type { CrabboxConfig } from "../../config/schema.js"
import type { ConfigureContext } from "../registry.js"

export const MODAL_DEFAULTS = {
  app: "crabbox",
  image: "python:3.13-slim",
  workdir: "/workspace/crabbox",
  python: "python3"
} as const

/**
 * The image's own system directories: refused with everything below them. Each sync moves
 * the workdir aside and deletes it, so `/usr/local` or `/etc/app` would take the image's files with it.
 */
export const SYSTEM_ROOTS: ReadonlySet<string> = new Set([
  "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr", "/var"
])

/**
 * Directories too broad to be replaced by a sync: the system ones and the shared parents.
 * A directory below a shared parent (`/workspace/app`, `/srv/app`, `/opt/app`, `/tmp/x`,
 * `/home/me`) is a dedicated one; nothing below a system directory is.
 */
export const BROAD_WORKDIRS: ReadonlySet<string> = new Set([
  "/", "/home", "/media", "/mnt", "/opt", "/root", "/srv", "/tmp", "/workspace", ...SYSTEM_ROOTS
])

/** The system root `path` is or lies under, if any. */
const systemRootOf = (path: string): string | undefined => {
  const top = `/${path.split("/")[1] ?? ""}`
  return SYSTEM_ROOTS.has(top) ? top : undefined
}

/** `/a//b/./c/../d/` -> `/a/b/d`, lexically (the sandbox's filesystem is not ours to look at). */
const normalizeAbsolute = (path: string): string => {
  const parts: Array<string> = []
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return `/${parts.join("/")}`
}

/** The workdir to use, or why it cannot be one (a message that follows the key `modal.workdir`). */
export const cleanWorkdir = (raw: string): Either.Either<string, string> => {
  const text = raw.trim()
  if (text === "") return Either.left("must not be empty")
  if (text.includes("\0")) return Either.left("must not contain a NUL byte")
  if (!text.startsWith("/")) return Either.left(`must be an absolute path (got ${JSON.stringify(raw)})`)
  const clean = normalizeAbsolute(text)
  if (BROAD_WORKDIRS.has(clean)) {
    return Either.left(`${clean} is too broad (each sync replaces it); choose a dedicated subdirectory such as ${MODAL_DEFAULTS.workdir}`)
  }
  const system = systemRootOf(clean)
  if (system !== undefined) {
    return Either.left(`${clean} is inside the system directory ${system} (each sync moves the workdir aside and deletes it); choose a dedicated directory such as ${MODAL_DEFAULTS.workdir}`)
  }
  return Either.right(clean)
}

export interface ModalSettings {
  readonly app: string
  readonly image: string
  /** absolute, normalized, not a broad root, nothing under a system directory */
  readonly workdir: string
  readonly python: string
}

export const modalSettings = (config: CrabboxConfig, context: ConfigureContext) =>
  Effect.gen(function* () {
    const section = config.modal
    const source = (key: string) => context.sources[key] ?? "default"
    if (section.python !== undefined && context.origins["modal.python"] === "repo-file") {
      return yield* new ConfigError({
        source: source("modal.python"), key: "modal.python",
        message: "may not be set by a repository config file (it names the local program crabbox runs); " +
          "set it in your user config, CRABBOX_MODAL_PYTHON or --modal-python"
      })
    }
    const workdir = yield* Either.match(cleanWorkdir(section.workdir ?? MODAL_DEFAULTS.workdir), {
      onLeft: (message) => Effect.fail(new ConfigError({ source: source("modal.workdir"), key: "modal.workdir", message })),
      onRight: Effect.succeed
    })
    return {
      app: (section.app ?? MODAL_DEFAULTS.app).trim(),
      image: (section.image ?? MODAL_DEFAULTS.image).trim(),
      workdir,
      python: (section.python ?? MODAL_DEFAULTS.python).trim()
    } satisfies ModalSettings
  })
