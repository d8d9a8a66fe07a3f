/**
 * In-memory Workspace: a map of path -> content that behaves like a checkout after git
 * listed it (excludes and `.crabboxignore` apply, unsafe paths and escaping symlinks
 * are skipped). `MemoryWorkspaceFiles` stays visible, so a test can edit the tree
 * between two syncs.
 */
import { Context, Effect, Layer, Ref, Stream } from "effect"
import { createHash } from "node:crypto"
import { WorkspaceError } from "../../domain/errors.js"
import { makeExcludeMatcher, parseIgnoreFile, syncExcludeRules } from "../../domain/excludes.js"
import type { ManifestEntry } from "../../domain/manifest.js"
import { byPath } from "../../domain/manifestDiff.js"
import { isSafeRelativePath, symlinkStaysInside } from "../../domain/syncPaths.js"
import { Workspace } from "../../ports/Workspace.js"

export type MemoryFile =
  | string
  | { readonly content: string; readonly executable?: boolean }
  | { readonly symlink: string }

export class MemoryWorkspaceFiles extends Context.Tag("crabbox/MemoryWorkspaceFiles")<MemoryWorkspaceFiles, {
  readonly files: Ref.Ref<ReadonlyMap<string, MemoryFile>>
  readonly write: (path: string, file: MemoryFile) => Effect.Effect<void>
  readonly remove: (path: string) => Effect.Effect<void>
}>() {}

const encoder = new TextEncoder()
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

const toEntry = (path: string, file: MemoryFile): ManifestEntry | string => {
  if (typeof file !== "string" && "symlink" in file) {
    if (!symlinkStaysInside(path, file.symlink)) return `symlink points outside the repository (${file.symlink})`
    const bytes = encoder.encode(file.symlink)
    return { path, kind: "symlink", executable: false, size: bytes.byteLength, hash: sha256(bytes), target: file.symlink }
  }
  const bytes = encoder.encode(typeof file === "string" ? file : file.content)
  const executable = typeof file !== "string" && file.executable === true
  return { path, kind: "file", executable, size: bytes.byteLength, hash: sha256(bytes) }
}

const filesLayer = (initial: Readonly<Record<string, MemoryFile>>) =>
  Layer.effect(MemoryWorkspaceFiles, Effect.gen(function* () {
    const files = yield* Ref.make<ReadonlyMap<string, MemoryFile>>(new Map(Object.entries(initial)))
    return MemoryWorkspaceFiles.of({
      files,
      write: (path, file) => Ref.update(files, (m) => new Map(m).set(path, file)),
      remove: (path) => Ref.update(files, (m) => {
        const next = new Map(m)
        next.delete(path)
        return next
      })
    })
  }))

const workspaceLayer = (root: string) =>
  Layer.effect(Workspace, Effect.gen(function* () {
    const { files } = yield* MemoryWorkspaceFiles
    const contentOf = (path: string) =>
      Ref.get(files).pipe(Effect.flatMap((m) => {
        const file = m.get(path)
        return file === undefined || (typeof file !== "string" && "symlink" in file)
          ? Effect.fail(new WorkspaceError({ message: `no such file ${path}`, path }))
          : Effect.succeed(encoder.encode(typeof file === "string" ? file : file.content))
      }))
    return Workspace.of({
      root,
      snapshot: ({ excludes }) =>
        Ref.get(files).pipe(Effect.map((m) => {
          const ignore = m.get(".crabboxignore")
          const ignoreLines = ignore === undefined || typeof ignore !== "string" && "symlink" in ignore
            ? []
            : parseIgnoreFile(typeof ignore === "string" ? ignore : ignore.content)
          const excluded = makeExcludeMatcher(syncExcludeRules(excludes, ignoreLines))
          const entries: Array<ManifestEntry> = []
          const skipped: Array<{ path: string; reason: string }> = []
          for (const [path, file] of m) {
            if (!isSafeRelativePath(path)) skipped.push({ path, reason: "unsafe path" })
            else if (excluded(path)) continue
            else {
              const entry = toEntry(path, file)
              if (typeof entry === "string") skipped.push({ path, reason: entry })
              else entries.push(entry)
            }
          }
          return { root, manifest: { version: 1, entries: entries.sort(byPath) }, skipped } as const
        })),
      read: (path) => Stream.fromEffect(contentOf(path))
    })
  }))

/** A Workspace over these files, plus `MemoryWorkspaceFiles` to change them later. */
export const layer = (
  files: Readonly<Record<string, MemoryFile>>,
  options: { readonly root?: string } = {}
): Layer.Layer<Workspace | MemoryWorkspaceFiles> =>
  workspaceLayer(options.root ?? "/memory/workspace").pipe(Layer.provideMerge(filesLayer(files)))
