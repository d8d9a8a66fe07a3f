/**
 * Decode the merged leaves into a `CrabboxConfig`. The merge happens first, so only the
 * values that take effect are validated; a failure is traced back to the leaf that supplied
 * the bad value, and the error names its key, its source (file and line, env var or flag)
 * and the value itself.
 */
import { Either, ParseResult, Schema } from "effect"
import { ConfigError } from "../../domain/errors.js"
import { type ConfigLayer, type Leaf, nestLeaves, type Origin } from "./layers.js"
import { CrabboxConfig } from "./schema.js"

export interface ResolvedConfig {
  readonly config: CrabboxConfig
  /** Dotted key -> where its value came from (`default`, a file path, `env X`, `flag --x`). */
  readonly sources: Readonly<Record<string, string>>
  readonly origins: Readonly<Record<string, Origin>>
}

const decode = Schema.decodeUnknownEither(CrabboxConfig, { errors: "first", onExcessProperty: "error" })

/** Long values are cut so an error stays one readable line. */
const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const valueAt = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>((node, step) => (node as Record<PropertyKey, unknown> | undefined)?.[step], value)

/** The leaf that holds the value at `path`: the leaf itself, the list containing it, or the first leaf under an unknown section. */
const leafFor = (merged: ConfigLayer, path: ReadonlyArray<PropertyKey>) => {
  for (let length = path.length; length > 0; length--) {
    const key = path.slice(0, length).join(".")
    const leaf = merged.get(key)
    if (leaf !== undefined) return { key, leaf, rest: path.slice(length) }
  }
  const prefix = `${path.join(".")}.`
  const under = [...merged].find(([key]) => key.startsWith(prefix))
  return under === undefined ? undefined : { key: path.join("."), leaf: under[1], rest: undefined }
}

const toConfigError = (merged: ConfigLayer, error: ParseResult.ParseError): ConfigError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const path = issue?.path ?? []
  const found = leafFor(merged, path)
  const leaf: Leaf | undefined = found?.leaf
  const problem = issue === undefined ? "is invalid"
    : issue._tag === "Unexpected" ? "is not a known configuration key"
    : issue._tag === "Missing" ? "is missing"
    : issue.message.startsWith("Expected ") ? "has the wrong type"
    : issue.message
  const got = found?.rest === undefined || issue?._tag === "Unexpected" || issue?._tag === "Missing"
    ? ""
    : ` (got ${show(valueAt(found.leaf.value, found.rest))})`
  return new ConfigError({
    source: leaf?.source ?? "default",
    key: found?.key ?? path.join("."),
    message: `${problem}${got}`,
    ...(leaf?.line === undefined ? {} : { line: leaf.line })
  })
}

export const resolveConfig = (merged: ConfigLayer): Either.Either<ResolvedConfig, ConfigError> =>
  decode(nestLeaves(merged)).pipe(
    Either.mapLeft((error) => toConfigError(merged, error)),
    Either.map((config) => ({
      config,
      sources: Object.fromEntries([...merged].map(([key, leaf]) => [key, leaf.source])),
      origins: Object.fromEntries([...merged].map(([key, leaf]) => [key, leaf.origin]))
    })))
