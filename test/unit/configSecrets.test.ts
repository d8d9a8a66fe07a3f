import { describe, it, assert } from "@effect/vitest"
import { Either } from "effect"
import { flagLayer } from "../../src/app/config/flagLayer.js"
import { looksLikeSecretKey, refuseSecrets } from "../../src/app/config/secrets.js"
import { parseYamlLayer } from "../../src/app/config/yamlLayer.js"

const FILE = { path: "/r/.crabbox.yaml", origin: "repo-file" } as const

const checkFile = (text: string) =>
  Either.flatMap(parseYamlLayer(text, FILE), (layer) => refuseSecrets(layer, { checkKeyNames: true }))

describe("secrets never come from config", () => {
  it("credential-looking keys in a file are refused, naming key, file and line but not the value", () => {
    const error = Either.match(checkFile("provider: fal\nfal:\n  apiKey: sk-live-123\n"), {
      onLeft: (refused) => refused,
      onRight: () => assert.fail("a file with an API key was accepted")
    })
    assert.strictEqual(error.source, FILE.path)
    assert.strictEqual(error.key, "fal.apiKey")
    assert.strictEqual(error.line, 3)
    assert.include(error.message, "secrets must come from the environment")
    assert.notInclude(error.message, "sk-live-123")
  })

  it("recognises the usual spellings", () => {
    for (const key of ["fal.key", "fal.apiKey", "modal.api_key", "freestyle.token", "modal.authToken", "x.password", "fal.clientSecret", "token"]) {
      assert.isTrue(looksLikeSecretKey(key), key)
    }
    for (const key of ["ssh.key", "ssh.host", "fal.apiUrl", "fal.instanceType", "sync.exclude", "env.allow"]) {
      assert.isFalse(looksLikeSecretKey(key), key)
    }
  })

  it("ssh.key is a path and is accepted", () => {
    assert.isTrue(Either.isRight(checkFile("ssh:\n  key: ~/.ssh/id_ed25519\n")))
  })

  it("private key material is refused wherever it comes from, without echoing it", () => {
    const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\n"
    const fromFile = checkFile(`ssh:\n  key: |\n${pem.split("\n").map((line) => `    ${line}`).join("\n")}\n`)
    assert.isTrue(Either.isLeft(fromFile))
    const fromFlag = refuseSecrets(flagLayer({ "ssh-key": pem }), { checkKeyNames: false })
    Either.match(fromFlag, {
      onLeft: (error) => {
        assert.strictEqual(error.source, "flag --ssh-key")
        assert.strictEqual(error.key, "ssh.key")
        assert.notInclude(error.message, "b3BlbnNzaC1rZXk")
      },
      onRight: () => assert.fail("private key accepted from a flag")
    })
  })
})
