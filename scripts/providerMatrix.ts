/** Rewrite docs/providers/matrix.md from the registry: `npm run docs:matrix`. */
import { writeFileSync } from "node:fs"
import { builtinProviders } from "../src/app/providers/builtin.js"
import { renderProviderMatrix } from "../src/app/providers/matrix.js"

writeFileSync(new URL("../docs/providers/matrix.md", import.meta.url), renderProviderMatrix(builtinProviders))
