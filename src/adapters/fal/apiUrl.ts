/**
 * `fal.apiUrl` validation: the key is sent to whatever this names, so anything unusual is
 * refused rather than repaired. Messages never echo the value (it may carry userinfo or a
 * query with a secret in it).
 */
import { Either } from "effect"
import { ConfigError } from "../../domain/errors.js"

const KEY = "fal.apiUrl"

/** Plain http is allowed only here, so tests can run a loopback server. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"])

// WHATWG URL parsing is forgiving (`https:host`, `https:///v1`, backslashes); require the
// textbook form up front so the parser never has to guess.
const SHAPE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\\]+(?:\/[^?#\\]*)?$/

const refuse = (source: string, message: string) => Either.left(new ConfigError({ source, key: KEY, message }))

/**
 * The normalized base URL (`https://api.fal.ai/v1`, no trailing slash), or a ConfigError
 * naming `fal.apiUrl`. `source` says where the value came from, for the error line.
 */
export const normalizeApiUrl = (raw: string, source = "settings"): Either.Either<string, ConfigError> => {
  if (/[\u0000-\u0020\u007f]/.test(raw)) return refuse(source, "must not contain whitespace or control characters")
  const trimmed = raw.replace(/\/+$/, "")
  if (!SHAPE.test(trimmed)) {
    if (/[?#]/.test(trimmed)) return refuse(source, "must not contain a query or a fragment")
    return refuse(source, "must be an absolute URL with a scheme and a host (https://host/path)")
  }
  const authority = trimmed.slice(trimmed.indexOf("//") + 2).split("/")[0] ?? ""
  if (authority.includes("@")) return refuse(source, "must not contain user information")
  if (trimmed.includes("%")) return refuse(source, "must not contain percent-escapes")
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    return refuse(source, "is not a valid URL")
  }
  if (url.hostname === "") return refuse(source, "must name a host")
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
    return refuse(source, "must use https (plain http only to localhost, 127.0.0.1 or ::1)")
  }
  const path = url.pathname === "/" ? "" : url.pathname
  const rawPath = trimmed.slice(trimmed.indexOf("//") + 2 + authority.length)
  // The parser resolved dot segments or escaped something: the value is not what it seems.
  if (path !== rawPath) return refuse(source, "must not contain dot segments or characters that need escaping in its path")
  return Either.right(`${url.protocol}//${url.host}${path}`)
}
