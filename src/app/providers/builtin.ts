/** The providers crabbox ships with. Adding one is adding a module here. */
import { makeRegistry } from "./registry.js"
import { falProvider } from "./fal/falProvider.js"
import { freestyleProvider } from "./freestyle/freestyleProvider.js"
import { modalProvider } from "./modal/modalProvider.js"
import { sshProvider } from "./ssh/sshProvider.js"

export const builtinProviders = makeRegistry([sshProvider, falProvider, freestyleProvider, modalProvider])
