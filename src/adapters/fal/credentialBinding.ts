/**
 * Binds claims to the credential that made them without storing the credential: a domain
 * separated sha256, the same value the Go implementation writes, so claims stay comparable.
 */
import { createHash } from "node:crypto"
import { Redacted } from "effect"

const DOMAIN = "crabbox/fal/credential-binding/v1\0"

/** Lowercase hex sha256 of the domain tag followed by the key. */
export const credentialBinding = (key: Redacted.Redacted<string>): string =>
  createHash("sha256").update(DOMAIN + Redacted.value(key), "utf8").digest("hex")
