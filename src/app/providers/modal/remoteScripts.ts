/**
 * The bash scripts crabbox runs in a sandbox, each as `bash -lc <script>`. Every path and
 * every word of the user's command is single-quoted; these strings travel to the Modal
 * client on its stdin, never on a local argv.
 */
import { looksLikeShell } from "../../../domain/commandLine.js"
import { shellQuote } from "../../../domain/shellQuote.js"

/** Modal refuses an exec whose arguments add up to more than this many bytes. */
export const MAX_EXEC_ARGS_BYTES = 65536

export const bashArgv = (script: string): ReadonlyArray<string> => ["bash", "-lc", script]

export const execArgsBytes = (argv: ReadonlyArray<string>): number =>
  argv.reduce((n, word) => n + new TextEncoder().encode(word).byteLength, 0)

/**
 * `cd '<workdir>' && exec 'word' ...`, or with `--shell` (or words that clearly need a
 * shell) `cd '<workdir>' && <words joined by spaces>`.
 */
export const commandScript = (request: { readonly workdir: string; readonly argv: ReadonlyArray<string>; readonly shell: boolean }): string => {
  const cd = `cd ${shellQuote(request.workdir)}`
  if (request.shell || looksLikeShell(request.argv)) return request.argv.length === 0 ? cd : `${cd} && ${request.argv.join(" ")}`
  return `${cd} && exec ${request.argv.map(shellQuote).join(" ")}`
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `export NAME='value'` per variable, sorted; names a shell could not take are dropped. */
export const envProfile = (env: Readonly<Record<string, string>>): string =>
  Object.keys(env).filter((name) => ENV_NAME.test(name)).sort()
    .map((name) => `export ${name}=${shellQuote(env[name]!)}\n`).join("")

/**
 * Source the uploaded profile, delete it at once (the values then live only in the
 * process environment), then run the command.
 */
export const withEnvProfile = (profilePath: string, script: string): string =>
  `. ${shellQuote(profilePath)}; rm -f -- ${shellQuote(profilePath)}\n${script}`

export const removeFileScript = (path: string): string => `rm -f -- ${shellQuote(path)}`

export const makeWorkdirScript = (workdir: string): string => `mkdir -p -- ${shellQuote(workdir)}`

/**
 * Unpack the archive into a staging directory beside the workdir, then swap it in: the
 * workdir holds exactly the synced tree, and a failed extraction leaves the old one in
 * place. The archive, the staging directory and the old tree are removed however it ends.
 */
export const extractArchiveScript = (request: { readonly archive: string; readonly workdir: string; readonly suffix: string }): string => {
  const cut = request.workdir.lastIndexOf("/")
  const staging = `${request.workdir.slice(0, cut)}/.${request.workdir.slice(cut + 1)}.crabbox-sync-${request.suffix}`
  return [
    "set -eu",
    `archive=${shellQuote(request.archive)} workdir=${shellQuote(request.workdir)} staging=${shellQuote(staging)} previous=${shellQuote(`${staging}.previous`)}`,
    `trap 'rm -rf -- "$staging" "$previous"; rm -f -- "$archive"' EXIT`,
    `mkdir -p -- "$staging"`,
    `tar -xzmf "$archive" --no-same-owner -C "$staging"`,
    `if [ -e "$workdir" ]; then mv -- "$workdir" "$previous"; fi`,
    `if ! mv -- "$staging" "$workdir"; then if [ -e "$previous" ]; then mv -- "$previous" "$workdir"; fi; exit 1; fi`
  ].join("\n")
}
