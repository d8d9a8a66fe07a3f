/**
 * `config show`: the effective configuration, as JSON or as one `key = value  (source)` line
 * per setting. Values are written in the YAML form (`ttl: 1h30m`). Config holds no secrets by
 * construction; URLs still lose their userinfo, query and fragment, where tokens tend to hide.
 */
import { Schema } from "effect"
import type { ResolvedConfig } from "./resolveConfig.js"
import { CrabboxConfig } from "./schema.js"

const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/** `https://user:pw@host/p?token=x#f` -> `https://<redacted>@host/p` */
export const redactUrl = (text: string): string => {
  if (!URL_LIKE.test(text)) return text
  const withoutQuery = text.replace(/[?#].*$/s, "")
  return withoutQuery.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/]*@/, "$1<redacted>@")
}

const redactValues = (value: unknown): unknown =>
  typeof value === "string" ? redactUrl(value)
    : Array.isArray(value) ? value.map(redactValues)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([key, child]) => [key, redactValues(child)]))
    : value

const encode = Schema.encodeSync(CrabboxConfig)

/** The YAML form, in schema order, URLs redacted. */
const shownConfig = (loaded: Pick<ResolvedConfig, "config">): Record<string, unknown> =>
  redactValues(encode(loaded.config)) as Record<string, unknown>

/** One line of camelCase JSON, keys in schema order (no trailing newline). */
export const renderConfigJson = (loaded: Pick<ResolvedConfig, "config">): string => JSON.stringify(shownConfig(loaded))

const settings = (value: unknown, key: string): ReadonlyArray<readonly [string, unknown]> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.entries(value).flatMap(([name, child]) => settings(child, key === "" ? name : `${key}.${name}`))
    : [[key, value]]

const showValue = (value: unknown): string =>
  typeof value === "string" ? value
    : Array.isArray(value) ? (value.length === 0 ? "[]" : value.map(showValue).join(", "))
    : JSON.stringify(value) ?? String(value)

/** `ttl = 1h30m  (/repo/.crabbox.yaml)`: one line per setting, in schema order. */
export const renderConfigText = (loaded: Pick<ResolvedConfig, "config" | "sources">): ReadonlyArray<string> =>
  settings(shownConfig(loaded), "")
    .map(([key, value]) => `${key} = ${showValue(value)}  (${loaded.sources[key] ?? "default"})`)
