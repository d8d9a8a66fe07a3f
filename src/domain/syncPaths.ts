/**
 * Path rules for sync. Every path that reaches the remote (upload, delete, manifest) is
 * checked here first, so a hostile or corrupt manifest cannot name anything outside
 * the workdir.
 */

/**
 * A `/`-separated path relative to the workdir that cannot leave it: not empty, not
 * absolute, no empty, `.` or `..` segment, no NUL. Backslashes are refused outright:
 * they are legal in Linux names but mean "separator" to other tools on the way.
 */
export const isSafeRelativePath = (path: string): boolean =>
  path.length > 0 &&
  !path.startsWith("/") &&
  !path.includes("\0") &&
  !path.includes("\\") &&
  path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..")

/**
 * Does a symlink at `linkPath` with this target text stay inside the tree? Resolved
 * lexically (the remote has no other view of it): absolute targets and any `..` that
 * climbs above the root, even to come back, count as outside.
 */
export const symlinkStaysInside = (linkPath: string, target: string): boolean => {
  if (target.length === 0 || target.startsWith("/") || target.includes("\0") || target.includes("\\")) {
    return false
  }
  const resolved = linkPath.split("/").slice(0, -1)
  for (const segment of target.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (resolved.length === 0) return false
      resolved.pop()
    } else {
      resolved.push(segment)
    }
  }
  return true
}

/** `a/b/c` -> `["a", "a/b"]`: the directories a path needs, outermost first. */
export const parentDirectories = (path: string): ReadonlyArray<string> => {
  const segments = path.split("/")
  const dirs: Array<string> = []
  for (let i = 1; i < segments.length; i++) dirs.push(segments.slice(0, i).join("/"))
  return dirs
}
