import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { builtinProviders } from "../../src/app/providers/builtin.js"
import { renderProviderMatrix } from "../../src/app/providers/matrix.js"

describe("docs/providers/matrix.md", () => {
  it("matches the registry (regenerate with npm run docs:matrix)", () => {
    const page = readFileSync(new URL("../../docs/providers/matrix.md", import.meta.url), "utf8")
    assert.strictEqual(page, renderProviderMatrix(builtinProviders))
  })

  it("has a row and a page for every provider", () => {
    for (const { spec } of builtinProviders.providers) {
      assert.include(renderProviderMatrix(builtinProviders), `[\`${spec.name}\`](${spec.name}.md)`)
      assert.isTrue(readFileSync(new URL(`../../docs/providers/${spec.name}.md`, import.meta.url), "utf8").length > 0)
    }
  })
})
