import { describe, it, assert } from "@effect/vitest"
import { ConfigProvider, Effect, Either, FastCheck, Schema } from "effect"
import { stringify } from "yaml"
import { envLayer } from "../../src/app/config/envLayer.js"
import { flagLayer, flagSpelling, type FlagValues } from "../../src/app/config/flagLayer.js"
import { type ConfigLayer, layerFromObject, mergeLayers, nestLeaves } from "../../src/app/config/layers.js"
import { defaultsLayer } from "../../src/app/config/loadConfig.js"
import { resolveConfig } from "../../src/app/config/resolveConfig.js"
import { CrabboxConfig } from "../../src/app/config/schema.js"
import { parseYamlLayer } from "../../src/app/config/yamlLayer.js"

const LAYERS = ["default", "user", "repo", "env", "flag"] as const
const KEYS = ["provider", "ttl", "ssh.host", "ssh.port", "env.allow", "sync.allowLarge"] as const

/** For each layer, the keys it sets; values name the layer so the winner is visible. */
const assignments = FastCheck.tuple(...LAYERS.map(() =>
  FastCheck.subarray([...KEYS]).chain((keys) =>
    FastCheck.tuple(...keys.map(() => FastCheck.nat(99))).map((ns) => keys.map((key, i) => [key, ns[i]!] as const)))))

const layerOf = (index: number, sets: ReadonlyArray<readonly [string, number]>): ConfigLayer =>
  new Map(sets.map(([key, n]) => [key, {
    value: key === "env.allow" ? [`${LAYERS[index]}${n}`] : `${LAYERS[index]}:${n}`,
    source: LAYERS[index]!, origin: "default" as const
  }]))

describe("precedence (pure merge)", () => {
  it.prop("each key takes the value of the highest layer that set it; unset layers never clobber", [assignments], ([perLayer]) => {
    const merged = mergeLayers(perLayer.map((sets, index) => layerOf(index, sets)))
    for (const key of KEYS) {
      const setters = perLayer.flatMap((sets, index) => sets.some(([k]) => k === key) ? [index] : [])
      const winner = setters.at(-1)
      if (winner === undefined) {
        assert.isFalse(merged.has(key), key)
      } else {
        assert.strictEqual(merged.get(key)?.source, LAYERS[winner])
        assert.deepStrictEqual(merged.get(key)?.value, layerOf(winner, perLayer[winner]!).get(key)?.value)
      }
    }
  })

  it("objects merge key by key; lists replace lists", () => {
    const lower = layerFromObject({ ssh: { host: "a", port: 22 }, env: { allow: ["CI"] } }, { source: "low", origin: "user-file" })
    const upper = layerFromObject({ ssh: { port: 2222 }, env: { allow: ["X"] } }, { source: "high", origin: "repo-file" })
    assert.deepStrictEqual(nestLeaves(mergeLayers([lower, upper])), { ssh: { host: "a", port: 2222 }, env: { allow: ["X"] } })
  })

  it("an appending leaf adds to the list below it", () => {
    const lower = layerFromObject({ env: { allow: ["CI"] } }, { source: "default", origin: "default" })
    const upper: ConfigLayer = new Map([["env.allow", { value: ["HOME"], source: "flag --allow-env", origin: "flag" as const, append: true }]])
    const merged = mergeLayers([lower, upper]).get("env.allow")
    assert.deepStrictEqual(merged?.value, ["CI", "HOME"])
    assert.strictEqual(merged?.source, "default + flag --allow-env")
  })

  it("a scalar above replaces a whole section below, and a key above replaces a scalar below", () => {
    const section = layerFromObject({ ssh: { host: "a", port: 22 } }, { source: "a", origin: "user-file" })
    const scalar = layerFromObject({ ssh: "oops" }, { source: "b", origin: "repo-file" })
    assert.deepStrictEqual(nestLeaves(mergeLayers([section, scalar])), { ssh: "oops" })
    assert.deepStrictEqual(nestLeaves(mergeLayers([scalar, section])), { ssh: { host: "a", port: 22 } })
  })
})

/** Real keys with valid values, written the way each source writes them. */
const VALUES = {
  provider: { env: "CRABBOX_PROVIDER", flag: "provider", arb: FastCheck.stringMatching(/^[a-z]{1,8}$/) },
  ttl: { env: "CRABBOX_TTL", flag: "ttl", arb: FastCheck.constantFrom("1h", "45m", "1h30m", "2m5s", "850ms") },
  workRoot: { env: "CRABBOX_WORK_ROOT", flag: "workRoot", arb: FastCheck.stringMatching(/^\/[a-z]{1,8}$/) },
  "ssh.host": { env: "CRABBOX_SSH_HOST", flag: "ssh-host", arb: FastCheck.stringMatching(/^[a-z]{1,8}\.test$/) },
  "ssh.port": { env: "CRABBOX_SSH_PORT", flag: "ssh-port", arb: FastCheck.integer({ min: 1, max: 65535 }) },
  "ssh.user": { env: "CRABBOX_SSH_USER", flag: "ssh-user", arb: FastCheck.stringMatching(/^[a-z_][a-z0-9_-]{0,8}$/) }
} as const
type RealKey = keyof typeof VALUES
const REAL_KEYS = Object.keys(VALUES) as ReadonlyArray<RealKey>

const layerValues = FastCheck.record(Object.fromEntries(REAL_KEYS.map((key) =>
  [key, FastCheck.option(VALUES[key].arb as FastCheck.Arbitrary<string | number>, { nil: undefined })])) as Record<RealKey, FastCheck.Arbitrary<string | number | undefined>>)

const setEntries = (values: Record<RealKey, string | number | undefined>) =>
  REAL_KEYS.flatMap((key) => values[key] === undefined ? [] : [[key, values[key]] as const])

const USER_FILE = "/home/u/.config/crabbox/config.yaml"
const REPO_FILE = "/repo/.crabbox.yaml"
const SOURCE_OF_LAYER: ReadonlyArray<(key: RealKey) => string> = [
  () => USER_FILE, () => REPO_FILE, (key) => `env ${VALUES[key].env}`, (key) => `flag ${flagSpelling(VALUES[key].flag)}`]

/** The values written as a YAML file and read back. */
const fileLayer = (values: Record<RealKey, string | number | undefined>, path: string, origin: "user-file" | "repo-file") => {
  const text = stringify(nestLeaves(layerFromObject(Object.fromEntries(setEntries(values)), { source: path, origin })))
  return Either.getOrThrow(parseYamlLayer(text, { path, origin }))
}

const envVarLayer = (values: Record<RealKey, string | number | undefined>) =>
  envLayer().pipe(Effect.withConfigProvider(ConfigProvider.fromMap(
    new Map(setEntries(values).map(([key, value]) => [VALUES[key].env, String(value)])))))

const flagValues = (values: Record<RealKey, string | number | undefined>) =>
  Object.fromEntries(setEntries(values).map(([key, value]) => [VALUES[key].flag, value])) as FlagValues

const valueAt = (object: unknown, key: string): unknown =>
  key.split(".").reduce<unknown>((node, name) => (node as Record<string, unknown> | undefined)?.[name], object)

describe("precedence (defaults, files, env and flags through validation)", () => {
  it.effect.prop("the loaded value and its source come from the highest layer that set the key",
    { user: layerValues, repo: layerValues, env: layerValues, flags: layerValues },
    ({ user, repo, env, flags }) => Effect.gen(function* () {
      const layers = [
        defaultsLayer, fileLayer(user, USER_FILE, "user-file"), fileLayer(repo, REPO_FILE, "repo-file"),
        yield* envVarLayer(env), flagLayer(flagValues(flags))]
      const resolved = Either.getOrThrow(resolveConfig(mergeLayers(layers)))
      const shown = Schema.encodeSync(CrabboxConfig)(resolved.config)
      for (const key of REAL_KEYS) {
        const given = [user, repo, env, flags].map((values) => values[key])
        const winner = given.reduce<number>((highest, value, layer) => value === undefined ? highest : layer, -1)
        if (winner === -1) {
          assert.strictEqual(resolved.sources[key], key.startsWith("ssh.") ? undefined : "default")
        } else {
          assert.strictEqual(resolved.sources[key], SOURCE_OF_LAYER[winner]!(key))
          assert.deepStrictEqual(valueAt(shown, key), given[winner])
        }
      }
    }), { fastCheck: { numRuns: 150 } })
})
