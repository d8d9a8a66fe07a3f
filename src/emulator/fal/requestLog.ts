/**
 * What clients sent to the API, so request-shape tests can assert on it. The Authorization
 * value is never kept: only its form, and whether it was accepted. Should a client put the
 * key anywhere else (query, body), it is masked there too.
 */
import { Effect, Ref } from "effect"
import type { FalRecordedRequest } from "../../app/cli/falEmulator.js"

/** A long-running `crabbox emulator fal` keeps only the most recent requests. */
const KEEP = 2_000

export const MASK = "[redacted]"

/** `Key <non-empty>`: the key text; undefined for any other form. */
export const keyOf = (authorization: string | undefined): string | undefined => {
  const match = authorization === undefined ? null : /^Key (\S(?:.*\S)?)\s*$/.exec(authorization)
  return match?.[1]
}

/**
 * The secrets a request may carry: the credential of its Authorization header in whatever
 * form (`Key k`, `Bearer k`, a bare `k`) and the emulator's configured key. Shorter than 4
 * characters is no secret worth mangling the record for.
 */
export const secretsOf = (authorization: string | undefined, configured: string | undefined): ReadonlyArray<string> =>
  [authorization?.trim().split(/\s+/).at(-1), configured].filter((s): s is string => s !== undefined && s.length >= 4)

/** Replaces every occurrence of each secret (raw or JSON-escaped) in recorded text. */
export const masked = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((acc, secret) =>
    acc.split(secret).join(MASK).split(JSON.stringify(secret).slice(1, -1)).join(MASK), text)

/** The parsed JSON body, or its text; undefined when empty. */
export const recordedBody = (text: string): unknown => {
  if (text === "") return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

export const makeRequestLog = Effect.gen(function* () {
  const ref = yield* Ref.make<ReadonlyArray<FalRecordedRequest>>([])
  return {
    all: Ref.get(ref),
    add: (request: FalRecordedRequest) =>
      Ref.update(ref, (all) => (all.length >= KEEP ? [...all.slice(all.length - KEEP + 1), request] : [...all, request]))
  }
})

export type RequestLog = Effect.Effect.Success<typeof makeRequestLog>
