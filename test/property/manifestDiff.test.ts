import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import type { Manifest, ManifestEntry } from "../../src/domain/manifest.js"
import {
  applyDiff, diffManifests, inFlightManifest, isEmptyDiff, pendingHash, prunableDirectories
} from "../../src/domain/manifestDiff.js"
import { posix } from "node:path"
import { isSafeRelativePath, parentDirectories, symlinkStaysInside } from "../../src/domain/syncPaths.js"

// A small pool, so old and new manifests share most paths and differ in few; manifests
// are sorted by path, and `subarray` keeps the pool order.
const pathPool = ["a", "a/b", "a/b/c", "a/d", "b", "c/d/e", "c/f", "é/ü", "x y/z", "z"].sort()

const entryArb = (path: string): FastCheck.Arbitrary<ManifestEntry> =>
  FastCheck.oneof(
    FastCheck.record({
      path: FastCheck.constant(path),
      kind: FastCheck.constant("file" as const),
      executable: FastCheck.boolean(),
      size: FastCheck.integer({ min: 0, max: 3 }),
      hash: FastCheck.constantFrom("h1", "h2")
    }),
    FastCheck.record({
      path: FastCheck.constant(path),
      kind: FastCheck.constant("symlink" as const),
      executable: FastCheck.constant(false),
      size: FastCheck.constant(1),
      hash: FastCheck.constantFrom("h1", "h2"),
      target: FastCheck.constantFrom("b", "../z")
    })
  )

const manifestArb: FastCheck.Arbitrary<Manifest> = FastCheck.subarray(pathPool).chain((paths) =>
  FastCheck.tuple(...paths.map(entryArb)).map((entries) => ({ version: 1 as const, entries })))

const paths = (m: Manifest) => m.entries.map((e) => e.path)

describe("manifest diff", () => {
  it.prop("applying the diff to the old manifest yields the new one", [manifestArb, manifestArb], ([old, next]) => {
    assert.deepStrictEqual(applyDiff(old, diffManifests(old, next)), next)
  })

  it.prop("a manifest has no diff with itself", [manifestArb], ([m]) => {
    assert.isTrue(isEmptyDiff(diffManifests(m, m)))
  })

  it.prop("removes never name a path the new manifest has; uploads all come from it", [manifestArb, manifestArb],
    ([old, next]) => {
      const diff = diffManifests(old, next)
      const kept = new Set(paths(next))
      assert.isTrue(diff.remove.every((p) => !kept.has(p)))
      assert.isTrue(diff.upload.every((e) => next.entries.includes(e)))
    })

  it.prop("an interrupted upload is redone: the in-flight manifest never hides a touched path",
    [manifestArb, manifestArb], ([old, next]) => {
      const diff = diffManifests(old, next)
      const inFlight = inFlightManifest(old, diff)
      const redo = diffManifests(inFlight, next)
      const redoUploads = new Set(paths({ version: 1, entries: redo.upload }))
      assert.isTrue(diff.upload.every((e) => redoUploads.has(e.path)))
      assert.isTrue(diff.remove.every((p) => redo.remove.includes(p)))
      assert.isTrue(inFlight.entries.every((e) =>
        e.hash === pendingHash || old.entries.some((o) => o.path === e.path && o.hash === e.hash)))
    })

  it.prop("pruned directories are ones the new tree does not need, deepest first", [manifestArb, manifestArb],
    ([old, next]) => {
      const dirs = prunableDirectories(diffManifests(old, next).remove, next)
      const needed = new Set(next.entries.flatMap((e) => parentDirectories(e.path)))
      assert.isTrue(dirs.every((d) => !needed.has(d)))
      dirs.forEach((d, i) => assert.isTrue(dirs.slice(i + 1).every((later) => !later.startsWith(`${d}/`))))
    })
})

describe("sync path rules", () => {
  const segment = FastCheck.constantFrom("a", "b", "..", ".", "")
  const relative = FastCheck.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join("/"))

  it.prop("a symlink stays inside exactly when it is relative and never climbs above the root",
    [FastCheck.array(FastCheck.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }), relative],
    ([linkParts, target]) => {
      const link = linkParts.join("/")
      // Climbing above the root and coming back counts as outside too, so resolve step by step.
      let climbed = false
      const stack = linkParts.slice(0, -1)
      for (const part of target.split("/")) {
        if (part === ".." && stack.length === 0) climbed = true
        else if (part === "..") stack.pop()
        else if (part !== "" && part !== ".") stack.push(part)
      }
      const expected = target !== "" && !target.startsWith("/") && !climbed && !posix.normalize(posix.join(posix.dirname(link), target)).startsWith("..")
      assert.strictEqual(symlinkStaysInside(link, target), expected)
    })

  it.prop("a safe path never resolves outside the root", [relative], ([path]) => {
    if (isSafeRelativePath(path)) assert.isFalse(posix.normalize(path).startsWith("..") || posix.isAbsolute(path))
  })

  it("refuses absolute, dotted, empty-segment, NUL and backslash paths", () => {
    for (const bad of ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/", "a\\..\\b", "a\0b"]) {
      assert.isFalse(isSafeRelativePath(bad), JSON.stringify(bad))
    }
    for (const good of ["a", "a/b.txt", "dir with space/ünï", "..a/b..", ".hidden/x"]) assert.isTrue(isSafeRelativePath(good), good)
    assert.isFalse(symlinkStaysInside("a", "/etc/passwd"))
    assert.isTrue(symlinkStaysInside("a/b", "../c"))
  })
})
