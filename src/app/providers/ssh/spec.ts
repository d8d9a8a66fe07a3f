import type { ProviderSpec } from "../../../domain/provider.js"

export const staticSshSpec: ProviderSpec = {
  name: "ssh",
  aliases: ["static", "static-ssh"],
  family: "ssh",
  kind: "ssh-lease",
  category: "existing-host",
  targets: ["linux"],
  features: ["ssh", "crabbox-sync", "cleanup", "doctor"],
  coordinator: "never",
  description: "an existing SSH host you already have: claimed per lease, never provisioned"
}
