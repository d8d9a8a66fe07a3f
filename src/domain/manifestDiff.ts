/**
 * What a sync has to do: compare the manifest the remote last recorded with the local
 * one. Paths are compared as plain strings; entries are equal when everything that
 * lands on disk (kind, exec bit, size, hash, link target) is equal.
 */
import type { Manifest, ManifestEntry } from "./manifest.js"
import { parentDirectories } from "./syncPaths.js"

export interface ManifestDiff {
  /** entries of `next` that are new or differ from `old` */
  readonly upload: ReadonlyArray<ManifestEntry>
  /** paths of `old` that `next` no longer has */
  readonly remove: ReadonlyArray<string>
}

/**
 * Stand-in hash for entries whose remote state is unknown. Never a sha256 hex, so it
 * never equals a real entry and the path is uploaded again.
 */
export const pendingHash = "pending"

/** Manifest order: by path, as plain string comparison. */
export const byPath = (a: ManifestEntry, b: ManifestEntry): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)

export const sameEntry = (a: ManifestEntry, b: ManifestEntry): boolean =>
  a.path === b.path && a.kind === b.kind && a.executable === b.executable && a.size === b.size &&
  a.hash === b.hash && (a.target ?? "") === (b.target ?? "")

export const diffManifests = (old: Manifest, next: Manifest): ManifestDiff => {
  const before = new Map(old.entries.map((e) => [e.path, e] as const))
  const after = new Set(next.entries.map((e) => e.path))
  return {
    upload: next.entries.filter((e) => {
      const previous = before.get(e.path)
      return previous === undefined || !sameEntry(previous, e)
    }),
    remove: old.entries.filter((e) => !after.has(e.path)).map((e) => e.path)
  }
}

export const isEmptyDiff = (diff: ManifestDiff): boolean => diff.upload.length === 0 && diff.remove.length === 0

/** `old` with the diff applied; for `diff = diffManifests(old, next)` this is `next`. */
export const applyDiff = (old: Manifest, diff: ManifestDiff): Manifest => {
  const entries = new Map(old.entries.map((e) => [e.path, e] as const))
  for (const path of diff.remove) entries.delete(path)
  for (const entry of diff.upload) entries.set(entry.path, entry)
  return { version: 1, entries: [...entries.values()].sort(byPath) }
}

/**
 * The manifest to keep on the remote while an upload is in flight: every path the diff
 * touches is marked pending, so an upload cut short is redone (or its leftovers
 * removed) by the next sync instead of being trusted.
 */
export const inFlightManifest = (old: Manifest, diff: ManifestDiff): Manifest => {
  const touched = new Set([...diff.remove, ...diff.upload.map((e) => e.path)])
  const entries = new Map(old.entries.map((e) => [e.path, e] as const))
  for (const entry of diff.upload) entries.set(entry.path, entry)
  return {
    version: 1,
    entries: [...entries.values()]
      .map((e): ManifestEntry => (touched.has(e.path) ? { ...e, hash: pendingHash } : e))
      .sort(byPath)
  }
}

/**
 * Directories that may be empty once the removed paths are gone, deepest first (the
 * order `rmdir` needs). Directories `next` still needs are left alone.
 */
export const prunableDirectories = (removed: ReadonlyArray<string>, next: Manifest): ReadonlyArray<string> => {
  const needed = new Set(next.entries.flatMap((e) => parentDirectories(e.path)))
  const candidates = new Set(removed.flatMap((p) => parentDirectories(p)).filter((d) => !needed.has(d)))
  // a child sorts after its parent, so reverse order puts children first
  return [...candidates].sort().reverse()
}
