import type { ProviderSpec } from "../../../domain/provider.js"

export const freestyleSpec: ProviderSpec = {
  name: "freestyle",
  aliases: [],
  family: "freestyle",
  kind: "delegated-run",
  category: "sandbox",
  targets: ["linux"],
  features: ["archive-sync", "run-session"],
  coordinator: "never",
  description: "Freestyle VMs: the workspace goes up as an archive, commands run through Freestyle's exec API (no SSH)"
}
