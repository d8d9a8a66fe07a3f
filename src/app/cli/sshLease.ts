import { Effect } from "effect"
import { UnsupportedFeature } from "../../domain/errors.js"
import type { Backend, SshLeaseBackend } from "../providers/backend.js"

/**
 * Commands that need Crabbox-managed SSH (only `ssh` now) refuse delegated providers
 * clearly; run, warmup, status, stop, list, cleanup and doctor dispatch on `backend.kind`.
 */
export const requireSshLease = (backend: Backend, command: string): Effect.Effect<SshLeaseBackend, UnsupportedFeature> =>
  backend.kind === "ssh-lease"
    ? Effect.succeed(backend)
    : Effect.fail(new UnsupportedFeature({
      provider: backend.spec.name, feature: command,
      message: `crabbox ${command} is not supported for delegated provider=${backend.spec.name}: it runs commands through its own API, ` +
        `not SSH; use crabbox run --provider ${backend.spec.name} --id <lease> -- <command>`
    }))
