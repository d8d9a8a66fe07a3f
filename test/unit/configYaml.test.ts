import { describe, it, assert } from "@effect/vitest"
import { Either } from "effect"
import { parseYamlLayer, WHOLE_FILE } from "../../src/app/config/yamlLayer.js"
import type { ConfigError } from "../../src/domain/errors.js"

const FILE = { path: "/r/crabbox.yaml", origin: "repo-file" } as const

const leaves = (text: string) =>
  Object.fromEntries([...Either.getOrThrow(parseYamlLayer(text, FILE))].map(([key, leaf]) => [key, [leaf.value, leaf.line]]))

const failure = (text: string): ConfigError =>
  Either.match(parseYamlLayer(text, FILE), { onLeft: (error) => error, onRight: () => { throw new Error("expected a ConfigError") } })

describe("config files as layers", () => {
  it("empty files and comment-only files set nothing", () => {
    assert.deepStrictEqual(leaves(""), {})
    assert.deepStrictEqual(leaves("# nothing yet\n"), {})
    assert.deepStrictEqual(leaves("---\n"), {})
  })

  it("nested mappings become dotted keys with their lines; lists are one leaf", () => {
    assert.deepStrictEqual(leaves("ttl: 2h\nssh:\n  host: box.test\n  port: 2222\nenv:\n  allow:\n    - CI\n    - HOME\n"), {
      ttl: ["2h", 1], "ssh.host": ["box.test", 3], "ssh.port": [2222, 4], "env.allow": [["CI", "HOME"], 6]
    })
  })

  it("empty keys and empty sections set nothing", () => {
    assert.deepStrictEqual(leaves("ssh:\nprovider: ~\nsync: {}\nttl: 1h\n"), { ttl: ["1h", 4] })
  })

  it("anchors and aliases are followed", () => {
    assert.deepStrictEqual(leaves("x-base: &base\n  host: a.test\nssh: *base\n")["ssh.host"]?.[0], "a.test")
  })

  it("malformed YAML reports the file and the line", () => {
    const error = failure("provider: ssh\nssh:\n  host: a: b\n")
    assert.strictEqual(error.source, FILE.path)
    assert.strictEqual(error.key, WHOLE_FILE)
    assert.strictEqual(error.line, 3)
    assert.match(error.message, /^is not valid YAML: /)
    assert.notInclude(error.message, "\n")
  })

  it("duplicate keys are a syntax error", () => {
    assert.strictEqual(failure("ttl: 1h\nttl: 2h\n").line, 2)
  })

  it("a file that is not a mapping", () => {
    const error = failure("- provider\n- ssh\n")
    assert.strictEqual(error.key, WHOLE_FILE)
    assert.strictEqual(error.message, "must be a mapping of keys to values")
  })

  it("dotted keys are refused rather than read as nested ones", () => {
    const error = failure("ssh.port: 22\n")
    assert.strictEqual(error.key, "ssh.port")
    assert.strictEqual(error.line, 1)
  })
})
