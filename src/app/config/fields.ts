/**
 * The value types a configuration leaf can have. Each accepts what YAML, an environment
 * variable or a flag naturally gives (a port may arrive as `2222` or `"2222"`) and fails
 * with a message that states the accepted syntax; the loader adds key, source and bad value.
 */
import { Duration, Either, ParseResult, Schema } from "effect"
import { DURATION_SYNTAX, formatDuration, parseDuration } from "../../domain/duration.js"

const message = (text: string) => ({ message: () => text })

/** A section: a mapping of keys whose own errors keep their more precise messages. */
export const section = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct(fields).annotations(message("must be a mapping of keys to values"))

/** A list of items of one kind. */
export const listOf = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.Array(item).annotations(message("must be a list"))

export const Text = Schema.String.annotations(message("must be text"))

export const NonBlank = Text.pipe(Schema.filter((s) => s.trim() !== "", message("must not be blank")))

/** Remote paths: the targets are Linux, so absolute means a leading `/`. */
export const AbsolutePath = NonBlank.pipe(
  Schema.filter((s) => s.startsWith("/"), message("must be an absolute path")))

export const Target = Schema.Literal("linux").annotations(message(`must be "linux" (the only supported target)`))

/** Trimmed, then checked as OpenSSH and useradd would accept it. */
export const SshUser = Schema.compose(NonBlank, Schema.Trim).pipe(
  Schema.filter((s) => /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/.test(s),
    message("must be a user name (letter or _, then up to 31 letters, digits, ., _ or -)")))

/** An environment variable name, or a prefix pattern ending in `*` (`AWS_*`). */
export const EnvVarPattern = Text.pipe(Schema.filter((s) => /^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(s),
  message("must list variable names (letters, digits and _, not starting with a digit; optional trailing *)")))

/** The raw side of a leaf: its message covers values of the wrong type altogether. */
const textOrNumber = (expected: string) => Schema.Union(Schema.String, Schema.Number).annotations(message(expected))

export const Port = Schema.transformOrFail(textOrNumber("must be an integer 1-65535"), Schema.Number, {
  strict: true,
  decode: (raw, _, ast) => {
    const port = typeof raw === "number" ? raw : /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
    return Number.isInteger(port) && port >= 1 && port <= 65535
      ? ParseResult.succeed(port)
      : ParseResult.fail(new ParseResult.Type(ast, raw, "must be an integer 1-65535"))
  },
  encode: (port) => ParseResult.succeed(port)
})

/** A whole number above zero (vCPUs, GiB): `4` or `"4"`. */
export const PositiveInt = Schema.transformOrFail(textOrNumber("must be a whole number above zero"), Schema.Number, {
  strict: true,
  decode: (raw, _, ast) => {
    const n = typeof raw === "number" ? raw : /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
    return Number.isInteger(n) && n > 0
      ? ParseResult.succeed(n)
      : ParseResult.fail(new ParseResult.Type(ast, raw, "must be a whole number above zero"))
  },
  encode: (n) => ParseResult.succeed(n)
})

const TRUE_WORDS = ["1", "true", "yes", "on"]
const FALSE_WORDS = ["0", "false", "no", "off"]
const BooleanOrText = Schema.Union(Schema.Boolean, Schema.String).annotations(message("must be true or false (or 1 or 0)"))

/** YAML booleans, and the words an environment variable uses for them (`1`, `true`, ...). */
export const Toggle = Schema.transformOrFail(BooleanOrText, Schema.Boolean, {
  strict: true,
  decode: (raw, _, ast) => {
    if (typeof raw === "boolean") return ParseResult.succeed(raw)
    const word = raw.trim().toLowerCase()
    return TRUE_WORDS.includes(word) ? ParseResult.succeed(true)
      : FALSE_WORDS.includes(word) ? ParseResult.succeed(false)
      : ParseResult.fail(new ParseResult.Type(ast, raw, "must be true or false (or 1 or 0)"))
  },
  encode: (flag) => ParseResult.succeed(flag)
})

/** A positive duration, written `90m`; encoded back in the canonical short form. */
export const PositiveDuration = Schema.transformOrFail(textOrNumber(`must be ${DURATION_SYNTAX}`), Schema.DurationFromSelf, {
  strict: true,
  decode: (raw, _, ast) => {
    const parsed = parseDuration(String(raw))
    if (Either.isLeft(parsed)) {
      return ParseResult.fail(new ParseResult.Type(ast, raw, `must be ${DURATION_SYNTAX}: ${parsed.left}`))
    }
    return Duration.greaterThan(parsed.right, Duration.zero)
      ? ParseResult.succeed(parsed.right)
      : ParseResult.fail(new ParseResult.Type(ast, raw, "must be longer than zero"))
  },
  encode: (duration) => ParseResult.succeed(formatDuration(Duration.toMillis(duration)))
})
