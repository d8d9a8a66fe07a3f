/**
 * Which redirects are followed. The HTTP client underneath must not follow any itself:
 * the Authorization header would go wherever a Location points. Here a redirect is
 * followed only on the base URL's own origin, at most MAX_REDIRECTS times, and a POST or
 * DELETE only by 307/308, the two statuses that promise the same method and body.
 */
import { Either } from "effect"

export const MAX_REDIRECTS = 10

const FOLLOWABLE: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
const METHOD_PRESERVING: ReadonlySet<number> = new Set([307, 308])

/** Statuses treated as a redirect; any other 3xx is an ordinary (error) response. */
export const isRedirect = (status: number): boolean => FOLLOWABLE.has(status)

export interface RedirectHop {
  readonly method: "GET" | "POST" | "DELETE"
  readonly status: number
  readonly location: string | undefined
  /** the URL that answered with the redirect; relative locations resolve against it */
  readonly from: URL
  /** origin of the configured base URL, the only one requests may go to */
  readonly origin: string
  /** redirects already followed in this exchange */
  readonly followed: number
}

/** The next URL to request, or why the redirect is refused. */
export const nextHop = (hop: RedirectHop): Either.Either<URL, string> => {
  const what = `HTTP ${hop.status} redirect`
  if (hop.followed >= MAX_REDIRECTS) return Either.left(`refused a ${what}: more than ${MAX_REDIRECTS} redirects`)
  if (hop.method !== "GET" && !METHOD_PRESERVING.has(hop.status)) {
    return Either.left(`refused a ${what} for ${hop.method}: only 307 and 308 keep the method and body`)
  }
  if (hop.location === undefined || hop.location.trim() === "") return Either.left(`${what} without a Location header`)
  let target: URL
  try {
    target = new URL(hop.location, hop.from)
  } catch {
    return Either.left(`${what} to an unparsable Location`)
  }
  if (target.origin !== hop.origin) {
    return Either.left(`refused a cross-origin ${what} (to ${target.protocol}//${target.host}); the key is only sent to ${hop.origin}`)
  }
  // Node would turn `user:pass@` into its own Authorization header.
  if (target.username !== "" || target.password !== "") return Either.left(`refused a ${what} to a URL with user information`)
  target.hash = ""
  return Either.right(target)
}
