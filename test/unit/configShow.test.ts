import { describe, it, assert } from "@effect/vitest"
import { Either } from "effect"
import { layerFromObject, mergeLayers } from "../../src/app/config/layers.js"
import { defaultsLayer } from "../../src/app/config/loadConfig.js"
import { resolveConfig } from "../../src/app/config/resolveConfig.js"
import { redactUrl, renderConfigJson, renderConfigText } from "../../src/app/config/showConfig.js"

const loadedWith = (object: Record<string, unknown>) =>
  Either.getOrThrow(resolveConfig(mergeLayers([
    defaultsLayer,
    layerFromObject(object, { source: "/r/.crabbox.yaml", origin: "repo-file" })
  ])))

describe("config show", () => {
  it("JSON: camelCase, YAML-form values, keys in schema order whatever the file order", () => {
    const loaded = loadedWith({ ssh: { port: 2222, key: "/home/u/.ssh/id_ed25519", host: "box.test" }, ttl: "1.5h" })
    assert.strictEqual(renderConfigJson(loaded), JSON.stringify({
      provider: "ssh", target: "linux", ttl: "1h30m", idleTimeout: "30m", workRoot: "/work/crabbox",
      env: { allow: ["CI", "NODE_OPTIONS"] },
      sync: { exclude: [], allowLarge: false },
      ssh: { host: "box.test", port: 2222, key: "/home/u/.ssh/id_ed25519" },
      fal: {}, freestyle: {}, modal: {}
    }))
  })

  it("text: one `key = value  (source)` line per setting", () => {
    const lines = renderConfigText(loadedWith({ ssh: { host: "box.test", key: "/k" }, sync: { exclude: ["node_modules", "dist"] } }))
    assert.deepStrictEqual(lines, [
      "provider = ssh  (default)",
      "target = linux  (default)",
      "ttl = 1h30m  (default)",
      "idleTimeout = 30m  (default)",
      "workRoot = /work/crabbox  (default)",
      "env.allow = CI, NODE_OPTIONS  (default)",
      "sync.exclude = node_modules, dist  (/r/.crabbox.yaml)",
      "sync.allowLarge = false  (default)",
      "ssh.host = box.test  (/r/.crabbox.yaml)",
      "ssh.key = /k  (/r/.crabbox.yaml)"
    ])
  })

  it("URLs lose userinfo, query and fragment", () => {
    assert.strictEqual(redactUrl("https://user:pw@api.example.test/v1?token=x#frag"), "https://<redacted>@api.example.test/v1")
    assert.strictEqual(redactUrl("https://api.example.test/v1"), "https://api.example.test/v1")
    assert.strictEqual(redactUrl("/work/a@b"), "/work/a@b")
    const loaded = loadedWith({ fal: { apiUrl: "https://me:pw@fal.test/v1?k=1" } })
    assert.include(renderConfigText(loaded), "fal.apiUrl = https://<redacted>@fal.test/v1  (/r/.crabbox.yaml)")
    assert.notInclude(renderConfigJson(loaded), "pw")
  })
})
