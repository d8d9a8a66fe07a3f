/**
 * The one shell string Freestyle's exec-await runs: `bash -lc '<cd> && <export> && <script>'`.
 * Freestyle takes a string, not argv, so plain argv is single-quoted word by word; shell
 * syntax (asked for with --shell, or clearly written) is passed as the user wrote it.
 */
import { looksLikeShell } from "../../../domain/commandLine.js"
import { shellQuote } from "../../../domain/shellQuote.js"

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `bash -lc '<script>'`: a login shell, so the image's profile (PATH, toolchains) applies. */
export const loginShell = (script: string): string => `bash -lc ${shellQuote(script)}`

export const userScript = (argv: ReadonlyArray<string>, shell: boolean): string =>
  shell || looksLikeShell(argv) ? argv.join(" ") : argv.map(shellQuote).join(" ")

/** Forwarded values travel in the request body (never in local argv); invalid names are dropped. */
export const exportLine = (env: Readonly<Record<string, string>>): string | undefined => {
  const names = Object.keys(env).filter((n) => ENV_NAME.test(n)).sort()
  return names.length === 0 ? undefined : `export ${names.map((n) => `${n}=${shellQuote(env[n]!)}`).join(" ")}`
}

/**
 * Every way a forwarded value may appear in text about the exec request: as given, quoted
 * once in its `export` and quoted again inside `bash -lc '...'`. An error body that echoes
 * the command is redacted with these (redact adds the JSON and URL forms).
 */
export const forwardedValueSpellings = (env: Readonly<Record<string, string>>): ReadonlyArray<string> => {
  const escape = (s: string) => s.replace(/'/g, `'\\''`)
  return [...new Set(Object.values(env).flatMap((v) => [v, escape(v), escape(escape(v))]))]
}

export const runCommand = (input: {
  readonly workspace: string
  readonly argv: ReadonlyArray<string>
  readonly shell: boolean
  readonly env: Readonly<Record<string, string>>
}): string => {
  const exports = exportLine(input.env)
  const parts = [`cd ${shellQuote(input.workspace)}`, ...(exports === undefined ? [] : [exports]), userScript(input.argv, input.shell)]
  return loginShell(parts.join(" && "))
}
