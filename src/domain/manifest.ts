/**
 * The sync manifest: what the workspace holds, keyed by path relative to the repo root
 * (always `/`-separated, never absolute, never containing `..`).
 */
import { Schema } from "effect"

export const ManifestEntry = Schema.Struct({
  path: Schema.String,
  kind: Schema.Literal("file", "symlink"),
  /** exec bit kept; everything else is normalized to 0644/0755 */
  executable: Schema.Boolean,
  size: Schema.Number,
  /** sha256 hex of the content (file) or of the link target text (symlink) */
  hash: Schema.String,
  /** link target text, for symlinks */
  target: Schema.optional(Schema.String)
})
export type ManifestEntry = typeof ManifestEntry.Type

export const Manifest = Schema.Struct({
  version: Schema.Literal(1),
  /** sorted by path, no duplicates */
  entries: Schema.Array(ManifestEntry)
})
export type Manifest = typeof Manifest.Type

export const ManifestJson = Schema.parseJson(Manifest)

export const emptyManifest: Manifest = { version: 1, entries: [] }
