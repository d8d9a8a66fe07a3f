/**
 * Host keys as the SSH wire presents them: a blob (string algorithm, then key data).
 * Pure functions; no ssh2 types, so the in-memory twin reports mismatches the same way.
 */
import type { ServerHostKeyAlgorithm } from "ssh2"
import type { HostKey } from "../../domain/sshTarget.js"

export { fingerprint, sameHostKey } from "../shared/hostKeyFingerprint.js"

/** The algorithm is the length-prefixed SSH string at the start of the blob. */
const blobAlgorithm = (blob: Buffer): string => {
  if (blob.length < 4) return "unknown"
  const length = blob.readUInt32BE(0)
  return length > 0 && 4 + length <= blob.length ? blob.subarray(4, 4 + length).toString("latin1") : "unknown"
}

export const hostKeyFromBlob = (blob: Buffer): HostKey => ({
  algorithm: blobAlgorithm(blob),
  base64: blob.toString("base64")
})

/** Signature algorithms that make the server present a key of the pinned key's type. */
const signatureAlgorithms: Readonly<Record<string, ReadonlyArray<ServerHostKeyAlgorithm>>> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
}

/**
 * A server with several host keys presents the one whose type the client prefers. With a pin,
 * ask for the pinned type first; otherwise a server offering ed25519 and RSA would look like a
 * mismatch whenever ssh2's default order differs from the order used on first contact.
 * ssh2's `prepend` skips algorithms already listed, so remove them before prepending.
 */
export const hostKeyPreference = (pin: HostKey | undefined) => {
  const wanted = pin === undefined ? undefined : signatureAlgorithms[pin.algorithm]
  return wanted === undefined ? undefined : { remove: [...wanted], prepend: [...wanted], append: [] }
}
