import { describe, it, assert } from "@effect/vitest"
import { FileSystem, Path } from "@effect/platform"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { userConfigPath } from "../../src/app/config/configFiles.js"
import type { FlagValues } from "../../src/app/config/flagLayer.js"
import { loadConfig } from "../../src/app/config/loadConfig.js"

/** A read-only file system holding exactly these files. */
const filesLayer = (files: Record<string, string>) => {
  const absent = FileSystem.makeNoop({})
  return FileSystem.layerNoop({
    readFileString: (path) => path in files ? Effect.succeed(files[path]!) : absent.readFileString(path)
  })
}

const load = (setup: { files?: Record<string, string>; env?: Record<string, string>; flags?: FlagValues; cwd?: string }) =>
  loadConfig({ cwd: setup.cwd ?? "/repo/sub", repoRoot: "/repo", flags: setup.flags ?? {} }).pipe(
    Effect.provide(Layer.merge(filesLayer(setup.files ?? {}), Path.layer)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ HOME: "/home/u", ...setup.env })))))

const USER_FILE = "/home/u/.config/crabbox/config.yaml"

describe("loadConfig", () => {
  it.effect("no files at all: defaults", () => Effect.gen(function* () {
    const loaded = yield* load({})
    assert.deepStrictEqual(loaded.files, [])
    assert.strictEqual(loaded.config.provider, "ssh")
  }))

  it.effect("user file < crabbox.yaml < .crabbox.yaml < env < flags", () => Effect.gen(function* () {
    const loaded = yield* load({
      files: {
        [USER_FILE]: "provider: a\nttl: 1h\nworkRoot: /u\nssh:\n  user: alice\n  host: user.test\n",
        "/repo/crabbox.yaml": "provider: b\nttl: 2h\nssh:\n  host: repo.test\n",
        "/repo/.crabbox.yaml": "provider: c\n"
      },
      env: { CRABBOX_TTL: "3h" },
      flags: { "ssh-host": "flag.test" }
    })
    assert.deepStrictEqual(loaded.files, [USER_FILE, "/repo/crabbox.yaml", "/repo/.crabbox.yaml"])
    assert.strictEqual(loaded.config.provider, "c")
    assert.strictEqual(Duration.toMillis(loaded.config.ttl), 3 * 3_600_000)
    assert.strictEqual(loaded.config.workRoot, "/u")
    assert.deepStrictEqual(loaded.config.ssh, { host: "flag.test", user: "alice" })
    assert.deepStrictEqual(
      [loaded.sources["provider"], loaded.sources["ttl"], loaded.sources["ssh.user"], loaded.sources["ssh.host"], loaded.sources["target"]],
      ["/repo/.crabbox.yaml", "env CRABBOX_TTL", USER_FILE, "flag --ssh-host", "default"])
    assert.strictEqual(loaded.origins["ssh.user"], "user-file")
  }))

  it.effect("XDG_CONFIG_HOME moves the user file; a relative one is ignored", () => Effect.gen(function* () {
    const xdg = yield* load({ env: { XDG_CONFIG_HOME: "/xdg" }, files: { "/xdg/crabbox/config.yaml": "provider: xdg\n" } })
    assert.strictEqual(xdg.config.provider, "xdg")
    const relative = yield* userConfigPath.pipe(
      Effect.provide(Path.layer),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["XDG_CONFIG_HOME", "rel"], ["HOME", "/home/u"]]))))
    assert.deepStrictEqual(relative._tag === "Some" ? relative.value : undefined, USER_FILE)
  }))

  it.effect("CRABBOX_CONFIG replaces the whole search and resolves against cwd", () => Effect.gen(function* () {
    const loaded = yield* load({
      env: { CRABBOX_CONFIG: "alt.yaml" },
      files: { [USER_FILE]: "provider: user\n", "/repo/crabbox.yaml": "provider: repo\n", "/repo/sub/alt.yaml": "ttl: 5m\n" }
    })
    assert.deepStrictEqual(loaded.files, ["/repo/sub/alt.yaml"])
    assert.strictEqual(loaded.config.provider, "ssh")
    assert.strictEqual(loaded.sources["ttl"], "/repo/sub/alt.yaml")
    assert.strictEqual(loaded.origins["ttl"], "repo-file")
  }))

  it.effect("a CRABBOX_CONFIG outside the repository counts as user config", () => Effect.gen(function* () {
    const loaded = yield* load({ env: { CRABBOX_CONFIG: "/etc/crabbox.yaml" }, files: { "/etc/crabbox.yaml": "ttl: 5m\n" } })
    assert.strictEqual(loaded.origins["ttl"], "user-file")
  }))

  it.effect("a CRABBOX_CONFIG that does not exist is an error", () => Effect.gen(function* () {
    const error = yield* Effect.flip(load({ env: { CRABBOX_CONFIG: "/nope.yaml" } }))
    assert.deepStrictEqual([error.source, error.key, error.message], ["/nope.yaml", "(file)", "does not exist"])
  }))

  it.effect("empty files are fine", () => Effect.gen(function* () {
    const loaded = yield* load({ files: { "/repo/crabbox.yaml": "", "/repo/.crabbox.yaml": "# later\n" } })
    assert.deepStrictEqual(loaded.files, ["/repo/crabbox.yaml", "/repo/.crabbox.yaml"])
    assert.strictEqual(loaded.sources["provider"], "default")
  }))

  it.effect("malformed YAML fails with the file and line", () => Effect.gen(function* () {
    const error = yield* Effect.flip(load({ files: { "/repo/.crabbox.yaml": "ttl: 1h\nssh: [a\n" } }))
    assert.strictEqual(error.source, "/repo/.crabbox.yaml")
    assert.isNumber(error.line)
  }))

  it.effect("a credential in the user file is refused", () => Effect.gen(function* () {
    const error = yield* Effect.flip(load({ files: { [USER_FILE]: "fal:\n  token: abc\n" } }))
    assert.deepStrictEqual([error.source, error.key], [USER_FILE, "fal.token"])
  }))

  it.effect("validation errors from the environment name the variable", () => Effect.gen(function* () {
    const error = yield* Effect.flip(load({ env: { CRABBOX_SSH_PORT: "abc" } }))
    assert.strictEqual(`${error.key} ${error.message} from ${error.source}`,
      `ssh.port must be an integer 1-65535 (got "abc") from env CRABBOX_SSH_PORT`)
  }))
})
