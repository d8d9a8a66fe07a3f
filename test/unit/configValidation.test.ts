import { describe, it, assert } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Option } from "effect"
import { envLayer } from "../../src/app/config/envLayer.js"
import { flagLayer, type FlagValues } from "../../src/app/config/flagLayer.js"
import { type ConfigLayer, layerFromObject, mergeLayers } from "../../src/app/config/layers.js"
import { defaultsLayer } from "../../src/app/config/loadConfig.js"
import { resolveConfig } from "../../src/app/config/resolveConfig.js"
import { parseYamlLayer } from "../../src/app/config/yamlLayer.js"
import { ConfigError } from "../../src/domain/errors.js"

const REPO_FILE = "/r/.crabbox.yaml"

const resolveOver = (layer: ConfigLayer) => resolveConfig(mergeLayers([defaultsLayer, layer]))

const fromFile = (object: Record<string, unknown>) => layerFromObject(object, { source: REPO_FILE, origin: "repo-file" })

const failure = (layer: ConfigLayer): ConfigError =>
  Either.match(resolveOver(layer), {
    onLeft: (error) => error,
    onRight: (resolved) => { throw new Error(`expected a ConfigError, loaded ${JSON.stringify(resolved.sources)}`) }
  })

const success = (layer: ConfigLayer) => Either.getOrThrow(resolveOver(layer))

const fromEnv = (variables: Record<string, string>) =>
  envLayer().pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(variables)))))

const fromFlags = (values: FlagValues) => flagLayer(values)

const assertError = (error: ConfigError, expected: { source: string; key: string; message: string; line?: number }) =>
  assert.deepStrictEqual(
    { source: error.source, key: error.key, message: error.message, line: error.line },
    { line: undefined, ...expected })

describe("config validation names key, source and bad value", () => {
  it("a relative work root from a repo file", () =>
    assertError(failure(fromFile({ ssh: { workRoot: "work" } })), {
      source: REPO_FILE, key: "ssh.workRoot", message: `must be an absolute path (got "work")`
    }))

  it.effect("a port that is not a number, from the environment", () => Effect.gen(function* () {
    assertError(failure(yield* fromEnv({ CRABBOX_SSH_PORT: "abc" })), {
      source: "env CRABBOX_SSH_PORT", key: "ssh.port", message: `must be an integer 1-65535 (got "abc")`
    })
  }))

  it("ports out of range or fractional", () => {
    for (const port of [0, 65536, 22.5, "-1"]) {
      assert.strictEqual(failure(fromFile({ ssh: { port } })).message, `must be an integer 1-65535 (got ${JSON.stringify(port)})`)
    }
    assert.strictEqual(success(fromFile({ ssh: { port: "2222" } })).config.ssh.port, 2222)
  })

  it("blank strings where a value is required", () => {
    assertError(failure(fromFile({ provider: "  " })), { source: REPO_FILE, key: "provider", message: `must not be blank (got "  ")` })
    assertError(failure(fromFlags({ "ssh-host": "" })), { source: "flag --ssh-host", key: "ssh.host", message: `must not be blank (got "")` })
    assertError(failure(fromFile({ workRoot: " " })), { source: REPO_FILE, key: "workRoot", message: `must not be blank (got " ")` })
  })

  it("a relative top-level work root from a flag", () =>
    assertError(failure(fromFlags({ workRoot: "crabbox" })), {
      source: "flag --work-root", key: "workRoot", message: `must be an absolute path (got "crabbox")`
    }))

  it("a duration without a unit says which key and the accepted syntax", () => {
    const error = failure(fromFlags({ ttl: "90" }))
    assert.strictEqual(error.key, "ttl")
    assert.strictEqual(error.source, "flag --ttl")
    assert.strictEqual(error.message,
      `must be a duration such as 90m, 1h30m, 1.5h, 45s or 500ms (units h, m, s, ms): missing unit after 90 (got "90")`)
  })

  it.effect("a zero idle timeout is refused", () => Effect.gen(function* () {
    assertError(failure(yield* fromEnv({ CRABBOX_IDLE_TIMEOUT: "0s" })), {
      source: "env CRABBOX_IDLE_TIMEOUT", key: "idleTimeout", message: `must be longer than zero (got "0s")`
    })
  }))

  it("an SSH user that OpenSSH would not accept; surrounding space is trimmed", () => {
    assertError(failure(fromFlags({ "ssh-user": "9lives" })), {
      source: "flag --ssh-user", key: "ssh.user",
      message: `must be a user name (letter or _, then up to 31 letters, digits, ., _ or -) (got "9lives")`
    })
    assert.strictEqual(failure(fromFile({ ssh: { user: "a".repeat(33) } })).key, "ssh.user")
    assert.strictEqual(success(fromFile({ ssh: { user: " deploy " } })).config.ssh.user, "deploy")
  })

  it.effect("env allow names: the bad entry is shown; prefixes with * are fine", () => Effect.gen(function* () {
    assertError(failure(yield* fromEnv({ CRABBOX_ENV_ALLOW: "CI,BAD-NAME" })), {
      source: "env CRABBOX_ENV_ALLOW", key: "env.allow",
      message: `must list variable names (letters, digits and _, not starting with a digit; optional trailing *) (got "BAD-NAME")`
    })
    assert.deepStrictEqual(success(yield* fromEnv({ CRABBOX_ENV_ALLOW: "AWS_*, HOME" })).config.env.allow, ["AWS_*", "HOME"])
  }))

  it("a bad name added with --allow-env names both contributors", () => {
    const error = failure(fromFlags({ "allow-env": ["1X"] }))
    assert.strictEqual(error.source, "default + flag --allow-env")
    assert.include(error.message, `(got "1X")`)
  })

  it("a target other than linux", () =>
    assertError(failure(fromFile({ target: "macos" })), {
      source: REPO_FILE, key: "target", message: `must be "linux" (the only supported target) (got "macos")`
    }))

  it("values of the wrong type", () => {
    assert.strictEqual(failure(fromFile({ sync: { allowLarge: "maybe" } })).message, `must be true or false (or 1 or 0) (got "maybe")`)
    assert.strictEqual(failure(fromFile({ env: { allow: "CI" } })).message, `must be a list (got "CI")`)
    assertError(failure(fromFile({ env: "CI" })), { source: REPO_FILE, key: "env", message: `must be a mapping of keys to values (got "CI")` })
    assert.strictEqual(failure(fromFile({ provider: 7 })).message, "must be text (got 7)")
  })

  it("unknown keys are errors naming the key, provider sections included", () => {
    assertError(failure(fromFile({ sssh: { host: "a" } })), { source: REPO_FILE, key: "sssh", message: "is not a known configuration key" })
    assertError(failure(fromFile({ ssh: { hostname: "a" } })), { source: REPO_FILE, key: "ssh.hostname", message: "is not a known configuration key" })
    assertError(failure(fromFile({ modal: { region: "eu" } })), { source: REPO_FILE, key: "modal.region", message: "is not a known configuration key" })
    const loaded = success(fromFile({ fal: { instanceType: "gpu_1x_h100_sxm5", sector: "sector_2" }, freestyle: { vcpus: "4" } }))
    assert.deepStrictEqual(loaded.config.fal, { instanceType: "gpu_1x_h100_sxm5", sector: "sector_2" })
    assert.deepStrictEqual(loaded.config.freestyle, { vcpus: 4 })
    assert.strictEqual(failure(fromFile({ fal: { sector: "sector_9" } })).message, `must be sector_1, sector_2 or sector_3 (got "sector_9")`)
    assert.strictEqual(failure(fromFile({ freestyle: { memoryGB: 0 } })).message, "must be a whole number above zero (got 0)")
  })

  it("the error carries the line of the bad value in its file", () => {
    const layer = Either.getOrThrow(parseYamlLayer("provider: ssh\nssh:\n  host: box.test\n  port: 99999\n", { path: REPO_FILE, origin: "repo-file" }))
    assertError(failure(layer), { source: REPO_FILE, key: "ssh.port", line: 4, message: "must be an integer 1-65535 (got 99999)" })
  })

  it("only the value that takes effect is validated", () => {
    const broken = fromFile({ ssh: { port: "abc" } })
    assert.strictEqual(Either.getOrThrow(resolveConfig(mergeLayers([defaultsLayer, broken, fromFlags({ "ssh-port": 22 })]))).config.ssh.port, 22)
  })
})

describe("config values", () => {
  it("defaults", () => {
    const { config, sources } = success(new Map())
    assert.strictEqual(config.provider, "ssh")
    assert.strictEqual(config.target, "linux")
    assert.strictEqual(Duration.toMillis(config.ttl), 90 * 60_000)
    assert.strictEqual(Duration.toMillis(config.idleTimeout), 30 * 60_000)
    assert.strictEqual(config.workRoot, "/work/crabbox")
    assert.deepStrictEqual(config.env.allow, ["CI", "NODE_OPTIONS"])
    assert.deepStrictEqual(config.sync, { exclude: [], allowLarge: false })
    assert.deepStrictEqual(config.ssh, {})
    assert.strictEqual(sources["ttl"], "default")
  })

  it.effect("booleans from the environment; empty variables set nothing", () => Effect.gen(function* () {
    assert.isTrue(success(yield* fromEnv({ CRABBOX_SYNC_ALLOW_LARGE: "1" })).config.sync.allowLarge)
    assert.isTrue(success(yield* fromEnv({ CRABBOX_SYNC_ALLOW_LARGE: "true" })).config.sync.allowLarge)
    const empty = success(yield* fromEnv({ CRABBOX_PROVIDER: "", CRABBOX_SSH_HOST: "" }))
    assert.strictEqual(empty.config.provider, "ssh")
    assert.isTrue(Option.isNone(Option.fromNullable(empty.config.ssh.host)))
  }))

  it("flags: --allow-env appends, --force-sync-large only ever turns the guardrail off", () => {
    const repo = fromFile({ env: { allow: ["HOME"] }, sync: { allowLarge: true } })
    const loaded = Either.getOrThrow(resolveConfig(mergeLayers([defaultsLayer, repo, fromFlags({ "allow-env": ["TERM"], "force-sync-large": false })])))
    assert.deepStrictEqual(loaded.config.env.allow, ["HOME", "TERM"])
    assert.strictEqual(loaded.sources["env.allow"], `${REPO_FILE} + flag --allow-env`)
    assert.isTrue(loaded.config.sync.allowLarge)
    assert.strictEqual(success(fromFlags({ "force-sync-large": true })).sources["sync.allowLarge"], "flag --force-sync-large")
  })
})
