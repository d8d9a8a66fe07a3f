/**
 * Redaction before anything reaches a terminal or a log: the configured secret values
 * (in every encoding an HTTP error body or URL might carry them), then whatever merely
 * looks like a credential (auth headers, URL userinfo, secret query values and JSON
 * fields, bearer tokens, PEM private keys).
 *
 * Known secrets are removed by marking every place any of their encodings occurs in the
 * original text and replacing each marked run once. Replacing one secret after another
 * could let an earlier replacement split or join text into a later secret; marking
 * first cannot. The only secret the output may still contain is one that is itself
 * made of the marker's characters (`<redacted>`), which is no secret worth the name.
 */

/** What a known secret or a credential-looking value becomes. */
export const REDACTED = "<redacted>"

/** What a whole PEM private-key block becomes. */
export const REDACTED_BLOCK = "[redacted]"

/**
 * Values shorter than this are not treated as secrets: replacing every `abc` or `42`
 * in an error message would make it unreadable, and no real key is that short.
 */
export const MIN_SECRET_LENGTH = 4

/** `a"b` -> `a\"b`: how the value appears inside a JSON string. */
const jsonEscaped = (s: string): string => JSON.stringify(s).slice(1, -1)

/**
 * Go's `encoding/json` (and other HTML-safe encoders) also write `<`, `>`, `&`, U+2028,
 * U+2029 and, in ASCII-only mode, every non-ASCII character as `\u00xx`.
 */
const jsonAsciiEscaped = (s: string): string =>
  jsonEscaped(s).replace(/[<>&\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** A lone surrogate makes `encodeURIComponent` throw; such a value has no URL form. */
const hasLoneSurrogate = (s: string): boolean =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

/** Every way `secret` may be spelled in text we print: raw, JSON, URL and form encoded. */
const encodingsOf = (secret: string): ReadonlyArray<string> => {
  const forms = [secret, jsonEscaped(secret), jsonAsciiEscaped(secret)]
  if (!hasLoneSurrogate(secret)) {
    const urlEncoded = encodeURIComponent(secret)
    forms.push(urlEncoded, urlEncoded.replace(/%20/g, "+"))
  }
  return [...new Set(forms)].filter((form) => form.length >= MIN_SECRET_LENGTH)
}

type Span = readonly [start: number, end: number]

/** Every (possibly overlapping) occurrence of `needle` in `text`. */
const occurrences = (text: string, needle: string): ReadonlyArray<Span> => {
  const spans: Array<Span> = []
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
    spans.push([at, at + needle.length])
  }
  return spans
}

/** Overlapping or touching spans become one, so each marked run gets a single marker. */
const mergeSpans = (spans: ReadonlyArray<Span>): ReadonlyArray<Span> => {
  const sorted = [...spans].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: Array<[number, number]> = []
  for (const [start, end] of sorted) {
    const last = merged[merged.length - 1]
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else merged.push([start, end])
  }
  return merged
}

const redactKnownSecrets = (text: string, secrets: ReadonlyArray<string>): string => {
  const needles = new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH).flatMap(encodingsOf))
  const spans = mergeSpans([...needles].flatMap((needle) => occurrences(text, needle)))
  let out = ""
  let cursor = 0
  for (const [start, end] of spans) {
    out += text.slice(cursor, start) + REDACTED
    cursor = end
  }
  return out + text.slice(cursor)
}

/**
 * A field or query parameter named like a credential: `token`, `apiKey`, `api_key`,
 * `x-api-key`, `access_token`, `client_secret`, `password`, ... Over-matching (`monkey`)
 * only hides a harmless value.
 */
const SECRET_NAME = "[\\w.-]*(?:token|key|secret|password|passwd|signature|credential|authorization)s?"

/** Header names whose whole value is a credential. */
const SECRET_HEADER = "(?:proxy-)?authorization|x-api-key|api-key|x-auth-token|set-cookie|cookie"

type Replacer = (match: string, ...groups: Array<string | undefined>) => string

/** Order matters: whole blocks first, so later patterns never see half a key. */
const PATTERNS: ReadonlyArray<readonly [RegExp, Replacer]> = [
  // An unterminated block (truncated output) is redacted to the end of the text.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, () => REDACTED_BLOCK],
  // `"token": "..."`, string values only; escapes inside the value are skipped over.
  [
    new RegExp(`("${SECRET_NAME}"\\s*:\\s*)"(?:[^"\\\\]|\\\\[\\s\\S])*"`, "gi"),
    (_, field) => `${field}"${REDACTED}"`
  ],
  // The same field in a JSON document that was itself put inside a JSON string.
  [
    new RegExp(`(\\\\"${SECRET_NAME}\\\\"\\s*:\\s*)\\\\"[\\s\\S]*?(?<!\\\\)\\\\"`, "gi"),
    (_, field) => `${field}\\"${REDACTED}\\"`
  ],
  // `Authorization: Key abc`: the scheme stays (it helps debugging), the rest of the line goes.
  [
    new RegExp(`\\b(${SECRET_HEADER})(\\s*[:=]\\s*)(?:(bearer|basic|key|token|digest)\\s+)?[^\\r\\n"'\\\\]+`, "gi"),
    (_, name, separator, scheme) => `${name}${separator}${scheme === undefined ? "" : `${scheme} `}${REDACTED}`
  ],
  // `https://user:pass@host` -> `https://<redacted>@host`; never reaches past the authority.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'\\]+@/gi, (_, scheme) => `${scheme}${REDACTED}@`],
  [new RegExp(`([?&;]${SECRET_NAME}=)[^&#\\s"'\\\\]+`, "gi"), (_, name) => `${name}${REDACTED}`],
  // Bare bearer tokens in prose; eight characters at least, so "bearer token" survives.
  [/\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi, (_, word) => `${word} ${REDACTED}`]
]

/**
 * `text` with every known secret (at least MIN_SECRET_LENGTH long) and every
 * credential-looking value replaced. Text with neither comes back unchanged.
 */
export const redact = (text: string, secrets: ReadonlyArray<string>): string =>
  PATTERNS.reduce((acc, [pattern, replace]) => acc.replace(pattern, replace), redactKnownSecrets(text, secrets))
