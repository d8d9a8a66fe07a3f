/**
 * The sync fingerprint: one sha256 that changes whenever the synced result would.
 * The remote keeps the last one; equal fingerprints mean "nothing to do" for the cost
 * of one round trip. It lives in app, not domain, because hashing needs node:crypto.
 */
import { createHash } from "node:crypto"
import type { Manifest } from "../../domain/manifest.js"

/** Bump when the meaning of a synced tree changes, so old fingerprints stop matching. */
const versionTag = "crabbox-sync-v1"

export interface FingerprintSettings {
  /** the same tree synced into another directory is a different result */
  readonly workdir: string
  readonly excludes: ReadonlyArray<string>
}

/** NUL never occurs in paths or settings, so NUL-terminated fields cannot run together. */
export const manifestFingerprint = (manifest: Manifest, settings: FingerprintSettings): string => {
  const hash = createHash("sha256")
  const field = (value: string | number | boolean) => hash.update(`${value}\0`)
  field(versionTag)
  field(settings.workdir)
  field(settings.excludes.length)
  settings.excludes.forEach(field)
  field(manifest.entries.length)
  for (const entry of manifest.entries) {
    field(entry.path)
    field(entry.kind)
    field(entry.executable)
    field(entry.size)
    field(entry.hash)
    field(entry.target ?? "")
  }
  return hash.digest("hex")
}
