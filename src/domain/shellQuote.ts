/** POSIX single-quoting: the remote shell sees exactly the given word. */

/** `it's` -> `'it'\''s'` */
export const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

/** `export A='1' B='2'; ` or the empty string; names are assumed already validated. */
export const exportPrefix = (env: Readonly<Record<string, string>>): string => {
  const names = Object.keys(env)
  return names.length === 0 ? "" : `export ${names.map((k) => `${k}=${shellQuote(env[k]!)}`).join(" ")}; `
}
