/**
 * Which workspace paths are never synced. Rules come in order (built-ins, configured
 * `sync.exclude`, root `.crabboxignore`); the last rule that matches a path decides, and
 * `!pattern` re-includes. The `.crabbox/` state directories are excluded after all
 * rules, so nothing can re-include them.
 *
 * A pattern without `/` matches any path segment (`node_modules` anywhere, `*.log`
 * anywhere). A pattern with `/` matches from the root, as the path itself or as a
 * directory prefix of it (`docs/build` covers `docs/build/x`). `*` and `?` stay within a
 * segment, `**` crosses segments, `[...]` is a character class. A trailing `/` means
 * "directories only".
 */

export const builtinExcludes: ReadonlyArray<string> = [
  ".git", "node_modules", "dist", "coverage", ".next", ".turbo", "target", ".venv", "__pycache__"
]

/** Local crabbox state that must never leave the machine (env files may hold secrets). */
export const alwaysExcluded: ReadonlyArray<string> = [
  ".crabbox/env", ".crabbox/scripts", ".crabbox/logs", ".crabbox/captures", ".crabbox/runs"
]

/** Lines of a `.crabboxignore`: blank lines and `#` comments dropped, whitespace trimmed. */
export const parseIgnoreFile = (text: string): ReadonlyArray<string> =>
  text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("#"))

/** The rule list in precedence order (later wins). */
export const syncExcludeRules = (
  configured: ReadonlyArray<string>,
  ignoreFile: ReadonlyArray<string>
): ReadonlyArray<string> => [...builtinExcludes, ...configured, ...ignoreFile]

interface Rule {
  readonly negate: boolean
  readonly matches: (path: string) => boolean
}

const globToRegexSource = (glob: string): string => {
  let out = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === "*" && glob[i + 1] === "*") {
      // `**/` may match nothing at all, so `a/**/b` covers `a/b`.
      if (glob[i + 2] === "/") {
        out += "(?:.*/)?"
        i += 2
      } else {
        out += ".*"
        i += 1
      }
    } else if (c === "*") {
      out += "[^/]*"
    } else if (c === "?") {
      out += "[^/]"
    } else if (c === "[" && glob.indexOf("]", i + 2) !== -1) {
      const end = glob.indexOf("]", i + 2)
      const body = glob.slice(i + 1, end).replace(/\\/g, "\\\\")
      out += body.startsWith("!") ? `[^${body.slice(1)}]` : `[${body}]`
      i = end
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&")
    }
  }
  return out
}

const compileRule = (raw: string): Rule | undefined => {
  const negate = raw.startsWith("!")
  let pattern = negate ? raw.slice(1) : raw
  const directoryOnly = pattern.endsWith("/")
  pattern = pattern.replace(/\/+$/, "")
  const anchored = pattern.includes("/")
  pattern = pattern.replace(/^\/+/, "")
  if (pattern.length === 0) return undefined
  const source = globToRegexSource(pattern)
  if (anchored) {
    const re = new RegExp(directoryOnly ? `^${source}/.+$` : `^${source}(?:/.*)?$`, "s")
    return { negate, matches: (path) => re.test(path) }
  }
  const re = new RegExp(`^${source}$`, "s")
  return {
    negate,
    matches: (path) => {
      const segments = path.split("/")
      // a directory-only rule cannot match the last segment, which is the file itself
      const candidates = directoryOnly ? segments.slice(0, -1) : segments
      return candidates.some((segment) => re.test(segment))
    }
  }
}

const always = alwaysExcluded.map((p) => compileRule(p)!)

/** Compile the rules once; the result answers "is this path excluded?". */
export const makeExcludeMatcher = (rules: ReadonlyArray<string>): (path: string) => boolean => {
  const compiled = rules.map(compileRule).filter((r): r is Rule => r !== undefined)
  return (path) => {
    if (always.some((rule) => rule.matches(path))) return true
    let excluded = false
    for (const rule of compiled) {
      if (rule.matches(path)) excluded = !rule.negate
    }
    return excluded
  }
}
