/**
 * A configuration layer is a flat map from a dotted key (`ssh.port`) to the value one source
 * gave it. Flat leaves make the precedence rule simple and exact: a layer overrides only the
 * leaves it sets (objects merge key by key), and a list is one leaf (a list replaces a list).
 */

/** Which kind of layer a value came from; later rules (e.g. repo files may not choose a credential destination) need it. */
export type Origin = "default" | "user-file" | "repo-file" | "env" | "flag"

export interface Leaf {
  readonly value: unknown
  /** Where the value came from, as shown to the user: a file path, `env CRABBOX_TTL`, `flag --ttl`, `default`. */
  readonly source: string
  readonly origin: Origin
  /** 1-based line in the source file. */
  readonly line?: number
  /** Add the list items to the lower layer's list instead of replacing it (`--allow-env`). */
  readonly append?: boolean
}

export type ConfigLayer = ReadonlyMap<string, Leaf>

const overlaps = (a: string, b: string): boolean =>
  a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`)

const appendTo = (lower: Leaf | undefined, upper: Leaf): Leaf => {
  if (lower === undefined || !Array.isArray(lower.value) || !Array.isArray(upper.value)) {
    return { ...upper, append: false }
  }
  return { value: [...lower.value, ...upper.value], source: `${lower.source} + ${upper.source}`, origin: upper.origin }
}

/**
 * Layers lowest first. A leaf replaces the same key below it, and also whatever it overlaps:
 * `ssh: "x"` above removes `ssh.port` below, and `ssh.port` above replaces a scalar `ssh` below.
 */
export const mergeLayers = (layers: ReadonlyArray<ConfigLayer>): ConfigLayer => {
  const merged = new Map<string, Leaf>()
  for (const layer of layers) {
    for (const [key, leaf] of layer) {
      const below = merged.get(key)
      for (const existing of [...merged.keys()]) {
        if (overlaps(existing, key)) merged.delete(existing)
      }
      merged.set(key, leaf.append === true ? appendTo(below, leaf) : leaf)
    }
  }
  return merged
}

const isPlainObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The leaves of a plain object: nested objects become dotted keys; lists and scalars are
 * leaves; `undefined` and `null` set nothing (an empty YAML key does not clear a default).
 */
export const layerFromObject = (
  object: Readonly<Record<string, unknown>>,
  leaf: Omit<Leaf, "value">
): ConfigLayer => {
  const layer = new Map<string, Leaf>()
  const visit = (value: unknown, key: string): void => {
    if (value === undefined || value === null) return
    if (isPlainObject(value)) {
      for (const [name, child] of Object.entries(value)) visit(child, key === "" ? name : `${key}.${name}`)
    } else {
      layer.set(key, { ...leaf, value })
    }
  }
  visit(object, "")
  return layer
}

/** Rebuild the nested object the leaves describe, for decoding. */
export const nestLeaves = (layer: ConfigLayer): Record<string, unknown> => {
  const root: Record<string, unknown> = {}
  for (const [key, leaf] of layer) {
    const parts = key.split(".")
    let node = root
    for (const part of parts.slice(0, -1)) {
      const child = node[part]
      node = isPlainObject(child) ? (child as Record<string, unknown>) : (node[part] = {})
    }
    node[parts[parts.length - 1]!] = leaf.value
  }
  return root
}
