/** Why the in-process SSH server could not start. Carries no key material. */
import { Schema } from "effect"

export class SshServerError extends Schema.TaggedError<SshServerError>()("SshServerError", {
  operation: Schema.Literal("host-key", "authorized-keys", "listen"),
  message: Schema.String
}) {}
