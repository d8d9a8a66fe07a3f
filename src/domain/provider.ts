/** What a provider says about itself: command-facing metadata, no behaviour. */
import { Schema } from "effect"

export const ProviderKind = Schema.Literal("ssh-lease", "delegated-run")
export type ProviderKind = typeof ProviderKind.Type

/** ssh-lease features, then delegated-run ones: archive-sync (the provider takes a tarball), run-session (it runs commands itself) */
export const Feature = Schema.Literal("ssh", "crabbox-sync", "cleanup", "doctor", "archive-sync", "run-session")
export type Feature = typeof Feature.Type

export const CoordinatorMode = Schema.Literal("never", "supported")
export type CoordinatorMode = typeof CoordinatorMode.Type

export const ProviderSpec = Schema.Struct({
  name: Schema.String,
  aliases: Schema.Array(Schema.String),
  family: Schema.String,
  kind: ProviderKind,
  category: Schema.optional(Schema.String),
  targets: Schema.Array(Schema.Literal("linux", "macos", "windows")),
  features: Schema.Array(Feature),
  coordinator: CoordinatorMode,
  description: Schema.String
})
export type ProviderSpec = typeof ProviderSpec.Type
