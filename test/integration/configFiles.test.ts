import { describe, it, assert } from "@effect/vitest"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Duration, Effect } from "effect"
import { loadConfig } from "../../src/app/config/loadConfig.js"
import { renderConfigText } from "../../src/app/config/showConfig.js"

/** A scratch home and repository on the real disk; files are written relative to the scratch root. */
const scratch = (files: Record<string, string>) => Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const root = yield* fs.makeTempDirectoryScoped({ prefix: "crabbox-config-" })
  for (const [name, text] of Object.entries(files)) {
    yield* fs.makeDirectory(path.dirname(path.join(root, name)), { recursive: true })
    yield* fs.writeFileString(path.join(root, name), text)
  }
  yield* fs.makeDirectory(path.join(root, "repo"), { recursive: true })
  return root
})

const loadIn = (root: string, env: Record<string, string> = {}) =>
  loadConfig({ cwd: `${root}/repo`, repoRoot: `${root}/repo`, flags: { ttl: "45m" } }).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ HOME: `${root}/home`, ...env })))))

describe("config files on disk", () => {
  it.scoped("user and repo files merge, env and flags on top, each value with its source", () => Effect.gen(function* () {
    const root = yield* scratch({
      "home/.config/crabbox/config.yaml": "ssh:\n  user: alice\n  key: ~/.ssh/id_ed25519\nttl: 2h\n",
      "repo/crabbox.yaml": "ssh:\n  host: box.test\n  port: 2222\nsync:\n  exclude: [node_modules]\n",
      "repo/.crabbox.yaml": "ssh:\n  port: 2200\n"
    })
    const loaded = yield* loadIn(root, { CRABBOX_ENV_ALLOW: "CI,AWS_*" })
    assert.deepStrictEqual(loaded.config.ssh, { host: "box.test", port: 2200, user: "alice", key: "~/.ssh/id_ed25519" })
    assert.strictEqual(Duration.toMillis(loaded.config.ttl), 45 * 60_000)
    assert.deepStrictEqual(loaded.config.env.allow, ["CI", "AWS_*"])
    const text = renderConfigText(loaded)
    assert.include(text, `ssh.port = 2200  (${root}/repo/.crabbox.yaml)`)
    assert.include(text, `ssh.host = box.test  (${root}/repo/crabbox.yaml)`)
    assert.include(text, `ssh.user = alice  (${root}/home/.config/crabbox/config.yaml)`)
    assert.include(text, "ttl = 45m  (flag --ttl)")
    assert.include(text, "env.allow = CI, AWS_*  (env CRABBOX_ENV_ALLOW)")
  }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("CRABBOX_CONFIG replaces the search", () => Effect.gen(function* () {
    const root = yield* scratch({ "repo/.crabbox.yaml": "provider: repo\n", "elsewhere.yaml": "provider: named\n" })
    const loaded = yield* loadIn(root, { CRABBOX_CONFIG: `${root}/elsewhere.yaml` })
    assert.deepStrictEqual(loaded.files, [`${root}/elsewhere.yaml`])
    assert.strictEqual(loaded.config.provider, "named")
  }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("an empty repo file is fine; a malformed one names file and line", () => Effect.gen(function* () {
    const fine = yield* scratch({ "repo/crabbox.yaml": "" })
    assert.strictEqual((yield* loadIn(fine)).config.provider, "ssh")
    const broken = yield* scratch({ "repo/crabbox.yaml": "provider: ssh\nsync:\n  exclude: [a, b\n" })
    const error = yield* Effect.flip(loadIn(broken))
    assert.strictEqual(error.source, `${broken}/repo/crabbox.yaml`)
    assert.isAtLeast(error.line ?? 0, 3)
  }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a config path that is a directory cannot be read", () => Effect.gen(function* () {
    const root = yield* scratch({})
    const error = yield* Effect.flip(loadIn(root, { CRABBOX_CONFIG: `${root}/repo` }))
    assert.strictEqual(error.source, `${root}/repo`)
    assert.match(error.message, /^cannot be read/)
  }).pipe(Effect.provide(NodeContext.layer)))
})
