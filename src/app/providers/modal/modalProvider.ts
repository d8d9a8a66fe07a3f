/** The `modal` provider: Modal Sandboxes driven through the user's local Modal Python client. */
import { Effect } from "effect"
import type { CrabboxConfig } from "../../config/schema.js"
import type { ConfigureContext, ProviderModule, ProviderServices } from "../registry.js"
import { makeModalBackend } from "./ModalBackend.js"
import { modalSettings } from "./settings.js"
import { modalSpec } from "./spec.js"

export const modalProvider: ProviderModule<ProviderServices> = {
  spec: modalSpec,
  flags: ["modal-app", "modal-image", "modal-workdir", "modal-python"],
  configure: (config: CrabboxConfig, context: ConfigureContext) =>
    Effect.flatMap(modalSettings(config, context), makeModalBackend)
}
