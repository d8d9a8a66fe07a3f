import type { ProviderSpec } from "../../../domain/provider.js"

export const modalSpec: ProviderSpec = {
  name: "modal",
  aliases: [],
  family: "modal",
  kind: "delegated-run",
  category: "sandbox",
  targets: ["linux"],
  features: ["archive-sync", "run-session"],
  coordinator: "never",
  description: "Modal Sandboxes through your local Modal Python client: the workspace goes up as an archive, Modal runs the command (no SSH)"
}
