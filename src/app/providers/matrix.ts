/**
 * The provider matrix page (docs/providers/matrix.md), rendered from the registry so the
 * docs cannot drift from the code: a test compares the file with this output, and
 * `npm run docs:matrix` rewrites it.
 */
import type { Feature } from "../../domain/provider.js"
import type { ProviderRegistry } from "./registry.js"

const FEATURES: ReadonlyArray<Feature> = ["ssh", "crabbox-sync", "cleanup", "doctor", "archive-sync", "run-session"]

export const renderProviderMatrix = <R>(registry: ProviderRegistry<R>): string => {
  const rows = registry.providers.map(({ spec }) => [
    `[\`${spec.name}\`](${spec.name}.md)`,
    spec.aliases.length === 0 ? "-" : spec.aliases.map((a) => `\`${a}\``).join(", "),
    spec.kind,
    spec.targets.join(", "),
    ...FEATURES.map((f) => (spec.features.includes(f) ? "yes" : "-")),
    spec.coordinator,
    spec.description
  ])
  const header = ["provider", "aliases", "kind", "targets", ...FEATURES, "coordinator", "what it is"]
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  return [
    "# Provider matrix",
    "",
    "<!-- generated from the provider registry by `npm run docs:matrix`; a test keeps it current -->",
    "",
    "`ssh-lease` providers hand crabbox an SSH target: crabbox syncs, runs and releases.",
    "`delegated-run` providers take the command and an archive of the tree and run it themselves.",
    "",
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
    ""
  ].join("\n")
}
