/**
 * The Freestyle base URL decides where the bearer key is sent, so it is checked before any
 * request: absolute, HTTPS (plain HTTP only to loopback), no userinfo, query or fragment.
 * Normalized form: scheme and host lowercased, default port dropped, trailing `/` trimmed;
 * a path prefix is kept (`http://127.0.0.1:8080/api/` sends to `/api/v1/vms`).
 * Messages never repeat the rejected parts.
 */
import { Either } from "effect"

export const DEFAULT_FREESTYLE_API_URL = "https://api.freestyle.sh"

const isLoopback = (hostname: string): boolean => {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase()
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

export const normalizeFreestyleUrl = (raw: string): Either.Either<string, string> => {
  const text = raw.trim()
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return Either.left("must be an absolute HTTPS URL")
  }
  if (url.host === "" || (url.protocol !== "https:" && url.protocol !== "http:")) {
    return Either.left("must be an absolute HTTPS URL")
  }
  if (url.username !== "" || url.password !== "" || text.includes("?") || text.includes("#")) {
    return Either.left("must not contain userinfo, query parameters, or a fragment")
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname)) {
    return Either.left("must use HTTPS except for loopback development endpoints")
  }
  if (/%2f|%5c/i.test(url.pathname)) return Either.left("must not contain an escaped path separator")
  // URL already lowercases scheme and host, brackets IPv6 and drops the scheme's default port.
  const path = url.pathname.replace(/\/+$/, "")
  return Either.right(`${url.protocol}//${url.host}${path}`)
}

/** Same scheme, host and effective port: the only redirects that may carry the key. */
export const sameOrigin = (a: URL, b: URL): boolean => a.origin === b.origin
