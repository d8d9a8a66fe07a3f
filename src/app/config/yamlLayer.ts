/**
 * A config file's text as a layer. Leaves remember their line, so a bad value is reported
 * where the user wrote it; YAML syntax errors carry the line the parser stopped at.
 */
import { Either } from "effect"
import { isAlias, isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml"
import { ConfigError } from "../../domain/errors.js"
import type { ConfigLayer, Leaf, Origin } from "./layers.js"

/** The key reported for problems with a file as a whole (syntax, unreadable, not a mapping). */
export const WHOLE_FILE = "(file)"

export interface ConfigFile {
  readonly path: string
  readonly origin: Extract<Origin, "user-file" | "repo-file">
}

const firstLine = (message: string): string => (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "")

export const parseYamlLayer = (text: string, file: ConfigFile): Either.Either<ConfigLayer, ConfigError> => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  const syntaxError = doc.errors[0]
  if (syntaxError !== undefined) {
    return Either.left(new ConfigError({
      source: file.path,
      key: WHOLE_FILE,
      message: `is not valid YAML: ${firstLine(syntaxError.message)}`,
      ...(syntaxError.linePos === undefined ? {} : { line: syntaxError.linePos[0].line })
    }))
  }
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range === undefined || node.range === null ? undefined : lines.linePos(node.range[0]).line
  const resolve = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc as Document) : node)

  const root = resolve(doc.contents)
  if (root === null || root === undefined || (isScalar(root) && root.value === null)) return Either.right(new Map())
  if (!isMap(root)) {
    return Either.left(new ConfigError({
      source: file.path, key: WHOLE_FILE, message: "must be a mapping of keys to values", line: lineOf(root as Node) ?? 1
    }))
  }

  const layer = new Map<string, Leaf>()
  const visit = (map: typeof root, prefix: string): ConfigError | undefined => {
    for (const pair of map.items) {
      const name = String(isScalar(pair.key) ? pair.key.value : pair.key)
      const key = prefix === "" ? name : `${prefix}.${name}`
      const line = lineOf(pair.key as Node)
      const at = line === undefined ? {} : { line }
      // a dotted key would be indistinguishable from a nested one once flattened
      if (name.includes(".")) return new ConfigError({ source: file.path, key, message: "is not a known configuration key (write nested keys as nested mappings)", ...at })
      const value = resolve(pair.value)
      if (isMap(value)) {
        const failure = visit(value, key)
        if (failure !== undefined) return failure
      } else if (value !== null && value !== undefined && !(isScalar(value) && value.value === null)) {
        layer.set(key, { value: (value as Node).toJS(doc as Document), source: file.path, origin: file.origin, ...at })
      }
    }
    return undefined
  }
  const failure = visit(root, "")
  return failure === undefined ? Either.right(layer) : Either.left(failure)
}
