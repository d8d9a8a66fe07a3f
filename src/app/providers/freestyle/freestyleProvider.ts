/** The `freestyle` provider: Freestyle VMs, commands through their exec API (delegated run). */
import { Effect } from "effect"
import type { CrabboxConfig } from "../../config/schema.js"
import type { ConfigureContext, ProviderModule, ProviderServices } from "../registry.js"
import { makeFreestyleBackend } from "./FreestyleBackend.js"
import { freestyleSettings } from "./settings.js"
import { freestyleSpec } from "./spec.js"

export const freestyleProvider: ProviderModule<ProviderServices> = {
  spec: freestyleSpec,
  flags: ["freestyle-api-url", "freestyle-workdir", "freestyle-vcpus", "freestyle-memory-gb"],
  configure: (config: CrabboxConfig, context: ConfigureContext) =>
    Effect.flatMap(freestyleSettings(config, context), (settings) =>
      makeFreestyleBackend({ ...settings, ttl: config.ttl, idleTimeout: config.idleTimeout }))
}
