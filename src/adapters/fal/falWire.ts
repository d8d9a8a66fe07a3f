/**
 * fal Compute wire shapes (fal-compute-openapi.yaml). Decoding is lenient on purpose:
 * unknown keys are ignored, and enums fal may grow (instance type, region, sector, status)
 * are plain strings, so one new value does not make a whole list undecodable. What the
 * strings mean is decided in falInstance.ts.
 */
import { Schema } from "effect"

/** Optional on the wire, tolerated as `null` too; decodes to an Option. */
const OptionalText = Schema.optionalWith(Schema.String, { nullable: true, as: "Option" })

export const FalInstance = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1, { message: () => "instance id must not be empty" })),
  instance_type: Schema.String,
  status: Schema.String,
  region: OptionalText,
  sector: OptionalText,
  ip: OptionalText,
  creator_user_nickname: OptionalText
})
export type FalInstance = typeof FalInstance.Type

export const FalInstancePage = Schema.Struct({
  next_cursor: Schema.NullOr(Schema.String),
  has_more: Schema.Boolean,
  instances: Schema.Array(FalInstance)
})
export type FalInstancePage = typeof FalInstancePage.Type

export const FalCreateBody = Schema.Struct({
  instance_type: Schema.String,
  ssh_key: Schema.String,
  sector: Schema.optional(Schema.String)
})
export type FalCreateBody = typeof FalCreateBody.Type

/** `{ "error": { type, message, docs_url?, request_id? } }`, on every documented non-2xx. */
export const FalErrorEnvelope = Schema.Struct({
  error: Schema.Struct({
    type: Schema.String,
    message: Schema.String,
    docs_url: Schema.optionalWith(Schema.String, { nullable: true }),
    request_id: Schema.optionalWith(Schema.String, { nullable: true })
  })
})
export type FalErrorEnvelope = typeof FalErrorEnvelope.Type
