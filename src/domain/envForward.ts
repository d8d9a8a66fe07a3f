/**
 * Which local environment variables `run` forwards: by name, never by value. The
 * allowlist comes from config (`env.allow`, already replaced by `CRABBOX_ENV_ALLOW`)
 * plus `--allow-env`; a trailing `*` allows every name with that prefix.
 */
import { Either } from "effect"
import { UsageError } from "./errors.js"

/** An allowlist entry: a variable name, or a name prefix followed by `*`. */
const ALLOW_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/

/**
 * What may be exported remotely. Names are inlined into a shell line (`export K='v'`),
 * so a local variable with any other name is never sent, whatever the allowlist says.
 */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Whether `entry` is a valid allowlist entry (`CI`, `NODE_OPTIONS`, `AWS_*`); a bare `*` is not. */
export const isAllowPattern = (entry: string): boolean => ALLOW_PATTERN.test(entry)

/**
 * The name part of a rejected value: `--allow-env TOKEN=abc` must not print `abc`, which
 * is likely a secret typed in the wrong place.
 */
const printable = (value: string): string => {
  const eq = value.indexOf("=")
  return eq === -1 ? value : `${value.slice(0, eq)}=...`
}

/**
 * The `--allow-env` values (the flag repeats, and each value may be a comma list) as
 * allowlist entries; blank items are ignored.
 */
export const parseAllowEnv = (values: ReadonlyArray<string>): Either.Either<ReadonlyArray<string>, UsageError> => {
  const entries = values.flatMap((value) => value.split(",")).map((item) => item.trim()).filter((item) => item !== "")
  const bad = entries.find((entry) => !isAllowPattern(entry))
  return bad === undefined
    ? Either.right(entries)
    : Either.left(new UsageError({
      message: `invalid --allow-env ${JSON.stringify(printable(bad))}: expected a variable name ` +
        `matching [A-Za-z_][A-Za-z0-9_]*, optionally ending in *`,
      hint: "pass names only (--allow-env CI,NODE_OPTIONS); values are read from your environment"
    }))
}

/** Config entries followed by the `--allow-env` ones, without duplicates, in first-seen order. */
export const resolveAllowlist = (
  configured: ReadonlyArray<string>,
  allowEnvFlags: ReadonlyArray<string>
): Either.Either<ReadonlyArray<string>, UsageError> =>
  Either.map(parseAllowEnv(allowEnvFlags), (fromFlags) => [...new Set([...configured, ...fromFlags])])

const allows = (entry: string, name: string): boolean =>
  entry.endsWith("*") ? name.startsWith(entry.slice(0, -1)) : name === entry

/**
 * The variables to send: every allowed name that is set locally (unset names are not
 * sent, an empty value is). Entries that are not valid patterns allow nothing, so a
 * stray `*` in config cannot forward the whole environment. Keys come out sorted, so
 * the remote line is stable.
 */
export const selectEnv = (
  allow: ReadonlyArray<string>,
  localEnv: Readonly<Record<string, string | undefined>>
): Record<string, string> => {
  const entries = allow.filter(isAllowPattern)
  // fromEntries defines own properties, so even a variable named `__proto__` stays data.
  return Object.fromEntries(
    Object.keys(localEnv).sort().flatMap((name) => {
      const value = localEnv[name]
      return value !== undefined && ENV_NAME.test(name) && entries.some((entry) => allows(entry, name))
        ? [[name, value] as const]
        : []
    })
  )
}
