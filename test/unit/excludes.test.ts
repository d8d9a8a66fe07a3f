import { assert, describe, it } from "@effect/vitest"
import { makeExcludeMatcher, parseIgnoreFile, syncExcludeRules } from "../../src/domain/excludes.js"

const matcher = (configured: ReadonlyArray<string> = [], ignoreFile: ReadonlyArray<string> = []) =>
  makeExcludeMatcher(syncExcludeRules(configured, ignoreFile))

describe("sync excludes", () => {
  it("built-ins match a directory segment anywhere in the path", () => {
    const excluded = matcher()
    for (const path of [".git/config", "node_modules/a/index.js", "pkg/node_modules/x", "dist/app.js", "crate/target/debug/x",
      "py/__pycache__/m.pyc", ".venv/bin/python", "web/.next/cache", "coverage/lcov.info", ".turbo/x"]) {
      assert.isTrue(excluded(path), path)
    }
    for (const path of ["src/index.ts", "distribution/x", "my.git", "targets/x", "README.md"]) {
      assert.isFalse(excluded(path), path)
    }
  })

  it("a pattern without a slash matches any segment, with globs inside the segment", () => {
    const excluded = matcher(["*.log", "tmp?"])
    assert.isTrue(excluded("a.log"))
    assert.isTrue(excluded("logs/deep/b.log"))
    assert.isTrue(excluded("x/tmp1/y"))
    assert.isFalse(excluded("a.log.txt"))
    assert.isFalse(excluded("x/tmp12/y"))
  })

  it("a pattern with a slash matches from the root, as the path or a directory prefix", () => {
    const excluded = matcher(["docs/build", "/scratch"])
    assert.isTrue(excluded("docs/build"))
    assert.isTrue(excluded("docs/build/index.html"))
    assert.isFalse(excluded("src/docs/build/x"))
    assert.isFalse(excluded("docs/builder/x"))
    assert.isTrue(excluded("scratch/x"))
    assert.isFalse(excluded("a/scratch/x"))
  })

  it("`*` stays inside a segment, `**` crosses segments", () => {
    const excluded = matcher(["data/*.bin", "a/**/b", "**/fixtures/*.json", "[ab]c/[!x]"])
    assert.isTrue(excluded("data/x.bin"))
    assert.isFalse(excluded("data/sub/x.bin"))
    assert.isTrue(excluded("a/b"))
    assert.isTrue(excluded("a/x/y/b/z"))
    assert.isTrue(excluded("fixtures/one.json"))
    assert.isTrue(excluded("t/fixtures/one.json"))
    assert.isTrue(excluded("ac/y"))
    assert.isFalse(excluded("ac/x"))
    assert.isFalse(excluded("cc/y"))
  })

  it("a trailing slash matches directories only", () => {
    const excluded = matcher(["cache/"])
    assert.isTrue(excluded("cache/x"))
    assert.isTrue(excluded("a/cache/x"))
    assert.isFalse(excluded("cache"))
    assert.isFalse(excluded("a/cache"))
  })

  it("the last matching rule wins and `!` re-includes, across the three sources", () => {
    assert.isFalse(matcher(["!dist"])("dist/app.js"))
    assert.isFalse(matcher(["*.log"], ["!keep.log"])("keep.log"))
    assert.isTrue(matcher(["!keep.log"], ["*.log"])("keep.log"))
    assert.isTrue(matcher(["*.log"], ["!keep.log"])("other.log"))
  })

  it("crabbox's local state directories stay excluded whatever the rules say", () => {
    const excluded = matcher(["!.crabbox/env", "!env"], ["!.crabbox/runs/x", "!*"])
    for (const dir of ["env", "scripts", "logs", "captures", "runs"]) assert.isTrue(excluded(`.crabbox/${dir}/x`), dir)
    assert.isFalse(excluded(".crabbox/config.yaml"))
    assert.isFalse(excluded("sub/.crabbox/env/x"))
  })

  it("parses .crabboxignore: comments, blank lines and CRLF dropped", () => {
    assert.deepStrictEqual(parseIgnoreFile("# build output\r\nout/\r\n\r\n  *.tmp  \n!keep.tmp\n"), ["out/", "*.tmp", "!keep.tmp"])
  })
})
