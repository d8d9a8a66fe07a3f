import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { UsageError } from "../../../domain/errors.js"
import { Feature, ProviderKind } from "../../../domain/provider.js"
import { Stdio } from "../../../ports/Stdio.js"
import { builtinProviders } from "../../providers/builtin.js"
import { json } from "../options.js"
import { renderProviderTable } from "../render.js"

export const providersCommand = Command.make("providers", {
  json,
  kind: Options.text("kind").pipe(Options.withDescription("only providers of this kind (ssh-lease, delegated-run)"), Options.optional),
  feature: Options.text("feature").pipe(Options.withDescription("only providers with this feature"), Options.optional)
}, (o) =>
  Effect.gen(function* () {
    if (Option.isSome(o.kind) && !ProviderKind.literals.includes(o.kind.value as ProviderKind)) {
      return yield* new UsageError({ message: `--kind ${JSON.stringify(o.kind.value)} is not one of ${ProviderKind.literals.join(", ")}` })
    }
    if (Option.isSome(o.feature) && !Feature.literals.includes(o.feature.value as Feature)) {
      return yield* new UsageError({ message: `--feature ${JSON.stringify(o.feature.value)} is not one of ${Feature.literals.join(", ")}` })
    }
    const specs = builtinProviders.providers.map((p) => p.spec).filter((s) =>
      Option.match(o.kind, { onNone: () => true, onSome: (k) => s.kind === k }) &&
      Option.match(o.feature, { onNone: () => true, onSome: (f) => s.features.includes(f as Feature) }))
    const stdio = yield* Stdio
    if (o.json) {
      return yield* stdio.out(JSON.stringify(specs.map((s) => ({
        provider: s.name, family: s.family, aliases: s.aliases, kind: s.kind, category: s.category,
        targets: s.targets, features: s.features, coordinator: s.coordinator, description: s.description
      }))))
    }
    for (const line of renderProviderTable(specs)) yield* stdio.out(line)
  })
).pipe(Command.withDescription("the providers crabbox knows and what each can do (no network)"))
