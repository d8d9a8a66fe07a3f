import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Schema } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MODAL_HELPER_SCRIPT } from "../../src/adapters/modal/helperScript.js"
import { CONFIG_DEFAULTS, CrabboxConfig } from "../../src/app/config/schema.js"
import type { Origin } from "../../src/app/config/layers.js"
import {
  commandScript, envProfile, extractArchiveScript, withEnvProfile
} from "../../src/app/providers/modal/remoteScripts.js"
import { cleanWorkdir, modalSettings } from "../../src/app/providers/modal/settings.js"
import { sandboxTags, sandboxTimeoutSeconds } from "../../src/app/providers/modal/tags.js"

const config = (modal: Record<string, string>) =>
  Schema.decodeUnknownSync(CrabboxConfig)({ ...CONFIG_DEFAULTS, modal })

const context = (origins: Record<string, Origin> = {}) => ({ origins, sources: Object.fromEntries(Object.keys(origins).map((k) => [k, `/repo/.crabbox.yaml`])) })

describe("modal workdir rules", () => {
  it("accepts a dedicated absolute directory and normalizes it", () => {
    assert.deepStrictEqual(cleanWorkdir("/workspace/crabbox"), Either.right("/workspace/crabbox"))
    assert.deepStrictEqual(cleanWorkdir("  /workspace//crabbox/./x/../ "), Either.right("/workspace/crabbox"))
    assert.deepStrictEqual(cleanWorkdir("/tmp/x"), Either.right("/tmp/x"))
    assert.deepStrictEqual(cleanWorkdir("/home/me"), Either.right("/home/me"))
  })

  it("refuses broad roots, also when written another way", () => {
    for (const broad of ["/", "/tmp", "/home", "/workspace", "/workspace/", "//tmp", "/workspace/a/..", "/usr", "/etc", "/root", "/var"]) {
      assert.include(Either.getOrThrowWith(Either.flip(cleanWorkdir(broad)), () => `${broad} accepted`), "too broad")
    }
  })

  it("refuses anything inside a system directory: a sync would move it aside and delete it", () => {
    for (const system of ["/usr/local", "/usr/lib/python3", "/var/lib/app", "/etc/app", "/lib64/x", "/lib/x86_64-linux-gnu", "/libx32/x",
      "/bin/tools", "/sbin/x", "/boot/efi", "/dev/shm", "/proc/1", "/sys/fs", "/run/app", "/usr/local/../local/bin"]) {
      assert.include(Either.getOrThrowWith(Either.flip(cleanWorkdir(system)), () => `${system} accepted`), "system directory")
    }
  })

  it("keeps dedicated directories below the shared parents", () => {
    for (const dedicated of ["/workspace/app", "/srv/app", "/opt/app", "/home/me/project", "/tmp/x", "/root/project", "/mnt/data/work", "/library", "/binaries/x", "/usrdata"]) {
      assert.deepStrictEqual(cleanWorkdir(dedicated), Either.right(dedicated))
    }
  })

  it("refuses empty and relative paths", () => {
    assert.include(Either.getOrThrowWith(Either.flip(cleanWorkdir("  ")), String), "empty")
    assert.include(Either.getOrThrowWith(Either.flip(cleanWorkdir("workspace/crabbox")), String), "absolute")
  })
})

describe("modal settings", () => {
  it.effect("defaults: app crabbox, image python:3.13-slim, workdir /workspace/crabbox, python python3", () =>
    Effect.gen(function* () {
      const settings = yield* modalSettings(config({}), context())
      assert.deepStrictEqual(settings, { app: "crabbox", image: "python:3.13-slim", workdir: "/workspace/crabbox", python: "python3" })
    }))

  it.effect("a repository config file may not choose modal.python", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(modalSettings(config({ python: "/tmp/evil" }), context({ "modal.python": "repo-file" })))
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual(error.key, "modal.python")
      assert.include(error.message, "repository config file")
      // from the user's own config, the environment or a flag it is fine
      for (const origin of ["user-file", "env", "flag"] as const) {
        const settings = yield* modalSettings(config({ python: "/opt/py/bin/python3" }), context({ "modal.python": origin }))
        assert.strictEqual(settings.python, "/opt/py/bin/python3")
      }
      // a repo file may still choose app, image and workdir
      const repo = yield* modalSettings(config({ app: "ci", image: "node:22", workdir: "/srv/app" }),
        context({ "modal.app": "repo-file", "modal.image": "repo-file", "modal.workdir": "repo-file" }))
      assert.deepStrictEqual([repo.app, repo.image, repo.workdir], ["ci", "node:22", "/srv/app"])
    }))

  it.effect("a broad workdir is a config error naming modal.workdir", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(modalSettings(config({ workdir: "/workspace" }), context({ "modal.workdir": "flag" })))
      assert.strictEqual(error._tag, "ConfigError")
      assert.strictEqual(error.key, "modal.workdir")
    }))
})

describe("modal sandbox tags and lifetime", () => {
  it("the TTL becomes whole seconds, at least the 5 minute default and at most 24 hours", () => {
    assert.strictEqual(sandboxTimeoutSeconds(Duration.minutes(90)), 5400)
    assert.strictEqual(sandboxTimeoutSeconds(Duration.millis(1500)), 2)
    assert.strictEqual(sandboxTimeoutSeconds(Duration.zero), 300)
    assert.strictEqual(sandboxTimeoutSeconds(Duration.hours(100)), 86400)
  })

  it("at most ten tags; derived values are tag-safe, app and image stay as configured", () => {
    const tags = sandboxTags({
      leaseId: "cbx_0123456789ab", slug: "blue lobster!", keep: true, expiresAt: 1_700_000_000,
      app: "my app", image: "ghcr.io/x/y:1.2", repoName: "my repo (1)"
    })
    assert.isAtMost(Object.keys(tags).length, 10)
    assert.deepStrictEqual(tags, {
      crabbox: "true", provider: "modal", lease: "cbx_0123456789ab", slug: "blue_lobster_", keep: "true",
      expires_at: "1700000000", app: "my app", image: "ghcr.io/x/y:1.2", repo: "my_repo__1_"
    })
  })
})

describe("modal remote scripts", () => {
  const bash = (script: string) =>
    execFileSync("bash", ["-c", script], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } })

  it("argv words reach the command unchanged; --shell runs a script", () => {
    const dir = mkdtempSync(join(tmpdir(), "crabbox-modal-cmd-"))
    assert.strictEqual(bash(commandScript({ workdir: dir, argv: ["printf", "%s|", "a b", "it's", "$HOME"], shell: false })), "a b|it's|$HOME|")
    assert.strictEqual(bash(commandScript({ workdir: dir, argv: ["echo $((1+2)) && pwd"], shell: true })).trim(), `3\n${dir}`)
  })

  it("the env profile exports values verbatim and is deleted once sourced", () => {
    const dir = mkdtempSync(join(tmpdir(), "crabbox-modal-env-"))
    const profile = join(dir, "env.sh")
    const value = `it's "quoted" $(not run) \`nor this\`\nsecond line`
    writeFileSync(profile, envProfile({ SECRET_VALUE: value, "BAD-NAME": "dropped", A: "1" }))
    assert.notInclude(readFileSync(profile, "utf8"), "BAD-NAME")
    const out = bash(withEnvProfile(profile, commandScript({ workdir: dir, argv: ["printenv", "SECRET_VALUE"], shell: false })))
    assert.strictEqual(out, `${value}\n`)
    assert.throws(() => readFileSync(profile))
  })

  it("extraction replaces the workdir; a broken archive leaves the old one in place", () => {
    const base = mkdtempSync(join(tmpdir(), "crabbox-modal-extract-"))
    const src = join(base, "src")
    execFileSync("mkdir", ["-p", src, join(base, "work")])
    writeFileSync(join(src, "new.txt"), "new\n")
    writeFileSync(join(base, "work", "old.txt"), "old\n")
    execFileSync("tar", ["-czf", join(base, "a.tgz"), "-C", src, "."])
    bash(extractArchiveScript({ archive: join(base, "a.tgz"), workdir: join(base, "work"), suffix: "abc" }))
    assert.strictEqual(execFileSync("ls", ["-A", join(base, "work")], { encoding: "utf8" }), "new.txt\n")
    assert.strictEqual(execFileSync("ls", ["-A", base], { encoding: "utf8" }), "src\nwork\n")
    writeFileSync(join(base, "b.tgz"), "not a tarball")
    assert.throws(() => bash(extractArchiveScript({ archive: join(base, "b.tgz"), workdir: join(base, "work"), suffix: "abc" })))
    assert.strictEqual(execFileSync("ls", ["-A", join(base, "work")], { encoding: "utf8" }), "new.txt\n")
    assert.strictEqual(execFileSync("ls", ["-A", base], { encoding: "utf8" }), "src\nwork\n")
  })
})

describe("the embedded helper script", () => {
  it("is helper.py byte for byte (edit helper.py, then copy it into helperScript.ts)", () => {
    const file = readFileSync(new URL("../../src/adapters/modal/helper.py", import.meta.url), "utf8")
    assert.strictEqual(MODAL_HELPER_SCRIPT, file)
  })
})
