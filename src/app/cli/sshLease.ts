import { Effect } from "effect"
import { UnsupportedFeature } from "../../domain/errors.js"
import type { Backend, SshLeaseBackend } from "../providers/backend.js"

/** Commands that need Crabbox-managed SSH refuse delegated providers clearly. */
export const requireSshLease = (backend: Backend, command: string): Effect.Effect<SshLeaseBackend, UnsupportedFeature> =>
  backend.kind === "ssh-lease"
    ? Effect.succeed(backend)
    : Effect.fail(new UnsupportedFeature({
      provider: backend.spec.name, feature: command,
      message: `crabbox ${command} is not supported for delegated provider=${backend.spec.name}`
    }))
