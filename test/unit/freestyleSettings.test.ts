/** Pure rules of the freestyle provider: workdir, sizing, key precedence, names, the exec command line. */
import { ConfigProvider, Effect, Either, Exit, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { exportLine, runCommand } from "../../src/app/providers/freestyle/command.js"
import { isCrabboxVmName, newVmName } from "../../src/app/providers/freestyle/names.js"
import { freestyleSettings, isPowerOfTwo, readFreestyleKey, workspaceFor } from "../../src/app/providers/freestyle/settings.js"
import type { CrabboxConfig } from "../../src/app/config/schema.js"
import { isLeaseId } from "../../src/domain/ids.js"

const withEnv = <A, E>(env: Record<string, string>, effect: Effect.Effect<A, E>) =>
  Effect.runSyncExit(Effect.withConfigProvider(effect, ConfigProvider.fromMap(new Map(Object.entries(env)))))

describe("freestyle settings", () => {
  it("keeps the workdir below /workspace", () => {
    expect(workspaceFor("crabbox")).toEqual(Either.right("/workspace/crabbox"))
    expect(workspaceFor(" sub//dir/./x/ ")).toEqual(Either.right("/workspace/sub/dir/x"))
    expect(Either.isLeft(workspaceFor("/workspace/crabbox"))).toBe(true)
    expect(Either.isLeft(workspaceFor(".."))).toBe(true)
    expect(Either.isLeft(workspaceFor("a/../b"))).toBe(true)
    expect(Either.isLeft(workspaceFor("."))).toBe(true)
    expect(Either.isLeft(workspaceFor("a\0b"))).toBe(true)
  })

  it("accepts only powers of two for sizing", () => {
    expect([1, 2, 4, 8, 16, 1024].every(isPowerOfTwo)).toBe(true)
    expect([0, -2, 3, 6, 12, 1.5].some(isPowerOfTwo)).toBe(false)
  })

  it("reads the key from CRABBOX_FREESTYLE_API_KEY first, then FREESTYLE_API_KEY; blank is unset", () => {
    const key = (env: Record<string, string>) => {
      const exit = withEnv(env, readFreestyleKey)
      return Exit.isSuccess(exit) ? Option.map(exit.value, Redacted.value) : undefined
    }
    expect(key({ CRABBOX_FREESTYLE_API_KEY: "own", FREESTYLE_API_KEY: "vendor" })).toEqual(Option.some("own"))
    expect(key({ FREESTYLE_API_KEY: "vendor" })).toEqual(Option.some("vendor"))
    expect(key({ CRABBOX_FREESTYLE_API_KEY: " ", FREESTYLE_API_KEY: "vendor" })).toEqual(Option.some("vendor"))
    expect(key({})).toEqual(Option.none())
  })

  it("refuses an API URL from a repository file, and names the source of a bad value", () => {
    const config = { freestyle: { apiUrl: "https://evil.example" } } as unknown as CrabboxConfig
    const refused = withEnv({}, freestyleSettings(config, { origins: { "freestyle.apiUrl": "repo-file" }, sources: { "freestyle.apiUrl": "/r/.crabbox.yaml" } }))
    expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toContain("/r/.crabbox.yaml")
    const fromUser = withEnv({}, freestyleSettings(config, { origins: { "freestyle.apiUrl": "user-file" }, sources: {} }))
    expect(Exit.isSuccess(fromUser) && fromUser.value.apiUrl).toBe("https://evil.example")
    const sized = withEnv({}, freestyleSettings({ freestyle: { vcpus: 6 } } as unknown as CrabboxConfig, { origins: {}, sources: { "freestyle.vcpus": "flag --freestyle-vcpus" } }))
    expect(Exit.isFailure(sized) && JSON.stringify(sized.cause)).toContain("power of two")
  })
})

describe("freestyle names and commands", () => {
  it("names VMs crabbox-<repo>-<6 hex> in normalized form, and only such names are crabbox's", () => {
    const name = Effect.runSync(newVmName("My_Repo"))
    expect(name).toMatch(/^crabbox-my-repo-[0-9a-f]{6}$/)
    expect(Effect.runSync(newVmName("crabbox"))).toMatch(/^crabbox-crabbox-[0-9a-f]{6}$/)
    expect(Effect.runSync(newVmName("crabbox-tools"))).toMatch(/^crabbox-tools-[0-9a-f]{6}$/)
    expect(isCrabboxVmName(name)).toBe(true)
    for (const foreign of ["Crabbox-x-abc123", "crabbox repo", "crabbox/x", "crabbox?x", "my-app", "crabbox-"]) {
      expect(isCrabboxVmName(foreign)).toBe(false)
    }
  })

  it("lease ids are fsb_ plus a file-name-safe VM id", () => {
    expect(isLeaseId("fsb_vm123")).toBe(true)
    expect(isLeaseId("fsb_")).toBe(false)
    expect(isLeaseId("fsb_../x")).toBe(false)
    expect(isLeaseId("fsb_a/b")).toBe(false)
    expect(isLeaseId("fsb_a.b")).toBe(false)
  })

  it("builds one bash -lc line: cd, sorted exports of valid names, the quoted argv", () => {
    expect(runCommand({ workspace: "/workspace/repo", argv: ["echo", "$GREETING"], shell: true, env: { GREETING: "hello world" } }))
      .toBe(`bash -lc 'cd '\\''/workspace/repo'\\'' && export GREETING='\\''hello world'\\'' && echo $GREETING'`)
    expect(runCommand({ workspace: "/workspace/crabbox", argv: ["go", "test", "./..."], shell: false, env: {} }))
      .toBe(`bash -lc 'cd '\\''/workspace/crabbox'\\'' && '\\''go'\\'' '\\''test'\\'' '\\''./...'\\'''`)
    expect(exportLine({ B: "2", A: "1", "BAD-NAME": "x", "1X": "y" })).toBe("export A='1' B='2'")
    expect(exportLine({})).toBeUndefined()
  })
})
