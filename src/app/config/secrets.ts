/**
 * Secrets come only from the environment, read by each provider itself. A config file
 * that names a credential is refused outright, before anything else reads it, so a token
 * committed in a repo file is never used, shown or forwarded. Error messages never repeat
 * the offending value.
 */
import { Either } from "effect"
import { ConfigError } from "../../domain/errors.js"
import type { ConfigLayer } from "./layers.js"

/** Keys that hold a path or a name, not a secret, although their names look like one. */
const NOT_SECRETS = new Set(["ssh.key"])

const SECRET_WORDS = ["token", "secret", "password", "passwd", "apikey", "accesskey", "authkey", "credential", "privatekey"]

/** `apiKey`, `api_key`, `fal.key`, `authToken`, `clientSecret`, ... */
export const looksLikeSecretKey = (key: string): boolean => {
  if (NOT_SECRETS.has(key)) return false
  const name = (key.split(".").pop() ?? key).toLowerCase().replace(/[-_]/g, "")
  return name === "key" || SECRET_WORDS.some((word) => name.includes(word))
}

const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/

const holdsPrivateKey = (value: unknown): boolean =>
  typeof value === "string" ? PRIVATE_KEY_BLOCK.test(value)
    : Array.isArray(value) ? value.some(holdsPrivateKey)
    : false

/** Refuse a file layer with a credential-looking key, and any layer holding private key material. */
export const refuseSecrets = (layer: ConfigLayer, { checkKeyNames }: { readonly checkKeyNames: boolean }) => {
  for (const [key, leaf] of layer) {
    const at = leaf.line === undefined ? {} : { line: leaf.line }
    if (checkKeyNames && looksLikeSecretKey(key)) {
      return Either.left(new ConfigError({
        source: leaf.source, key, ...at,
        message: "looks like a credential; secrets must come from the environment, never from a config file"
      }))
    }
    if (holdsPrivateKey(leaf.value)) {
      return Either.left(new ConfigError({
        source: leaf.source, key, ...at,
        message: "holds private key material; configure the path of a key file instead"
      }))
    }
  }
  return Either.right(layer)
}
