/**
 * The flag layer, the highest. The CLI parses flags and hands their values over as a plain
 * record; this table is the one place that says which config key each flag sets.
 */
import type { ConfigLayer, Leaf } from "./layers.js"

interface FlagValueTypes {
  readonly text: string
  readonly port: string | number
  readonly list: ReadonlyArray<string>
  readonly switch: boolean
}

interface FlagRow {
  /** Property name in `FlagValues`; the flag is `--` plus its kebab-case form. */
  readonly name: string
  readonly key: string
  readonly type: keyof FlagValueTypes
  /** Add to the list from lower layers instead of replacing it. */
  readonly append?: true
}

export const FLAGS = [
  { name: "provider", key: "provider", type: "text" },
  { name: "target", key: "target", type: "text" },
  { name: "ttl", key: "ttl", type: "text" },
  { name: "idleTimeout", key: "idleTimeout", type: "text" },
  { name: "workRoot", key: "workRoot", type: "text" },
  { name: "ssh-host", key: "ssh.host", type: "text" },
  { name: "ssh-port", key: "ssh.port", type: "port" },
  { name: "ssh-user", key: "ssh.user", type: "text" },
  { name: "ssh-key", key: "ssh.key", type: "text" },
  { name: "ssh-work-root", key: "ssh.workRoot", type: "text" },
  { name: "allow-env", key: "env.allow", type: "list", append: true },
  { name: "force-sync-large", key: "sync.allowLarge", type: "switch" },
  { name: "fal-api-url", key: "fal.apiUrl", type: "text" },
  { name: "fal-instance-type", key: "fal.instanceType", type: "text" },
  { name: "fal-sector", key: "fal.sector", type: "text" },
  { name: "fal-user", key: "fal.user", type: "text" },
  { name: "fal-work-root", key: "fal.workRoot", type: "text" },
  { name: "freestyle-api-url", key: "freestyle.apiUrl", type: "text" },
  { name: "freestyle-workdir", key: "freestyle.workdir", type: "text" },
  { name: "freestyle-vcpus", key: "freestyle.vcpus", type: "text" },
  { name: "freestyle-memory-gb", key: "freestyle.memoryGB", type: "text" },
  { name: "modal-app", key: "modal.app", type: "text" },
  { name: "modal-image", key: "modal.image", type: "text" },
  { name: "modal-workdir", key: "modal.workdir", type: "text" },
  { name: "modal-python", key: "modal.python", type: "text" }
] as const satisfies ReadonlyArray<FlagRow>

type FlagTable = typeof FLAGS[number]

/** What the CLI passes: any subset of the flags in the table; `undefined` means not given. */
export type FlagValues = {
  readonly [Row in FlagTable as Row["name"]]?: FlagValueTypes[Row["type"]] | undefined
}

/** `idleTimeout` -> `--idle-timeout` */
export const flagSpelling = (name: string): string =>
  `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`

/** Absent, `false` switches and empty lists set nothing: the CLI passes those for flags not given. */
const isGiven = (row: FlagRow, value: unknown): boolean =>
  row.type === "switch" ? value === true
    : row.type === "list" ? Array.isArray(value) && value.length > 0
    : value !== undefined

/** The names of the flags actually given on the command line. */
export const givenFlags = (values: FlagValues): ReadonlyArray<string> =>
  (FLAGS as ReadonlyArray<FlagRow>)
    .filter((row) => isGiven(row, (values as Readonly<Record<string, unknown>>)[row.name]))
    .map((row) => row.name)

export const flagLayer = (values: FlagValues): ConfigLayer => {
  const layer = new Map<string, Leaf>()
  for (const row of FLAGS as ReadonlyArray<FlagRow>) {
    const value: unknown = (values as Readonly<Record<string, unknown>>)[row.name]
    if (!isGiven(row, value)) continue
    layer.set(row.key, {
      value,
      source: `flag ${flagSpelling(row.name)}`,
      origin: "flag",
      ...(row.append === true ? { append: true } : {})
    })
  }
  return layer
}
