/**
 * Go-style durations as written in config files and flags: `90m`, `1h30m`, `1.5h`, `500ms`.
 * Units are h, m, s and ms; every number needs a unit, except a bare `0` (as in Go).
 * Precision is the millisecond: a value finer than that is refused rather than rounded,
 * so what the user wrote is exactly what runs.
 */
import { Duration, Either } from "effect"

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
type Unit = keyof typeof UNIT_MS

/** The accepted syntax, for error messages. */
export const DURATION_SYNTAX = "a duration such as 90m, 1h30m, 1.5h, 45s or 500ms (units h, m, s, ms)"

// `ms` before `m`, so `500ms` is not read as 500 minutes followed by junk.
const PART = /^(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)?/

/** A decimal amount of a unit, as an exact whole number of milliseconds (or a reason it is not one). */
const partMillis = (amount: string, unit: Unit): Either.Either<bigint, string> => {
  const [whole = "", fraction = ""] = amount.split(".")
  const scale = 10n ** BigInt(fraction.length)
  const scaled = BigInt(whole === "" ? "0" : whole) * scale + BigInt(fraction === "" ? "0" : fraction)
  const millis = scaled * BigInt(UNIT_MS[unit])
  return millis % scale === 0n
    ? Either.right(millis / scale)
    : Either.left(`${amount}${unit} is finer than a millisecond`)
}

/** `1h30m` -> 90 minutes; `Left` carries a reason such as `missing unit after 90`. */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const input = text.trim()
  if (input === "") return Either.left("it is empty")
  if (input.startsWith("-")) return Either.left("it must not be negative")
  if (input === "0") return Either.right(Duration.zero)
  let rest = input.startsWith("+") ? input.slice(1) : input
  let total = 0n
  while (rest !== "") {
    const match = PART.exec(rest)
    if (match === null) return Either.left(`expected a number at "${rest}"`)
    const [token, amount = "", unit] = match
    if (unit === undefined) {
      const after = rest.slice(token.length)
      return Either.left(after === "" || /^\d/.test(after)
        ? `missing unit after ${amount}`
        : `unknown unit "${/^[^\d.]+/.exec(after)?.[0] ?? after}" (use h, m, s or ms)`)
    }
    const millis = partMillis(amount, unit as Unit)
    if (Either.isLeft(millis)) return Either.left(millis.left)
    total += millis.right
    rest = rest.slice(token.length)
  }
  return total > BigInt(Number.MAX_SAFE_INTEGER)
    ? Either.left("it is too large")
    : Either.right(Duration.millis(Number(total)))
}

/**
 * Canonical short form of a whole number of milliseconds: `1h30m`, `2m5s`, `850ms`, `0s`.
 * Zero components are left out, so `parseDuration(formatDuration(ms))` gives `ms` back.
 */
export const formatDuration = (millis: number): string => {
  let rest = Math.max(0, Math.round(millis))
  if (rest === 0) return "0s"
  let text = ""
  for (const unit of ["h", "m", "s", "ms"] as const) {
    const count = Math.floor(rest / UNIT_MS[unit])
    if (count > 0) text += `${count}${unit}`
    rest -= count * UNIT_MS[unit]
  }
  return text
}
