/** Human renderings of the normalized views; JSON is the views themselves. */
import type { LeaseView, StatusView } from "../../domain/leaseView.js"
import type { ProviderSpec } from "../../domain/provider.js"

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd())
}

export const renderLeaseTable = (views: ReadonlyArray<LeaseView>): Array<string> =>
  views.length === 0
    ? ["no leases"]
    : table([
      ["LEASE", "SLUG", "PROVIDER", "STATUS", "HOST", "KEEP", "EXPIRES"],
      ...views.map((v) => [v.leaseId, v.slug, v.provider, v.status, v.host ?? "-", String(v.keep), v.expiresAt])
    ])

export const renderStatus = (v: StatusView): string =>
  `${v.leaseId} slug=${v.slug} provider=${v.provider} target=${v.target} state=${v.status} host=${v.host ?? "-"} ` +
  `ssh=${v.sshUser ?? "-"}@${v.sshHost ?? "-"}:${v.sshPort ?? "-"} ready=${v.ready} has_host=${v.hasHost} ` +
  `idle_for=${v.idleForSeconds}s idle_timeout=${v.idleTimeoutSeconds}s expires=${v.expiresAt}`

export const renderProviderTable = (specs: ReadonlyArray<ProviderSpec>): Array<string> =>
  table([
    ["PROVIDER", "KIND", "ALIASES", "TARGETS", "FEATURES", "DESCRIPTION"],
    ...specs.map((s) => [s.name, s.kind, s.aliases.join(",") || "-", s.targets.join(","), s.features.join(","), s.description])
  ])
