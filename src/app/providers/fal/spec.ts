import type { ProviderSpec } from "../../../domain/provider.js"

export const falSpec: ProviderSpec = {
  name: "fal",
  aliases: ["fal-ai"],
  family: "fal",
  kind: "ssh-lease",
  category: "gpu-cloud",
  targets: ["linux"],
  features: ["ssh", "crabbox-sync", "cleanup"],
  coordinator: "never",
  description: "fal.ai Compute H100 instances, leased over SSH and deleted when done (FAL_KEY)"
}
