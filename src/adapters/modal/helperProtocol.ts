/** The JSON lines helper.py prints on stdout, one event each. */
import { Schema } from "effect"

export const HelperErrorKind = Schema.Literal("missing-client", "auth", "not-found", "transport", "protocol")

export const HelperEvent = Schema.Union(
  Schema.Struct({ event: Schema.Literal("stdout", "stderr"), data: Schema.String }),
  Schema.Struct({ event: Schema.Literal("exit"), code: Schema.Int }),
  Schema.Struct({ event: Schema.Literal("result"), value: Schema.Unknown }),
  Schema.Struct({ event: Schema.Literal("error"), kind: HelperErrorKind, message: Schema.String, sandbox_id: Schema.optional(Schema.String) })
)
export type HelperEvent = typeof HelperEvent.Type

export const decodeHelperEvent = Schema.decodeUnknownEither(Schema.parseJson(HelperEvent))

/** What create and get answer. */
export const SandboxJson = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  tags: Schema.Record({ key: Schema.String, value: Schema.String })
})

export const decodeSandbox = Schema.decodeUnknownEither(SandboxJson)
export const decodeSandboxes = Schema.decodeUnknownEither(Schema.Array(SandboxJson))
