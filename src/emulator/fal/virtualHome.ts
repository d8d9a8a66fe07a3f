/**
 * fal machines are Ubuntu boxes where crabbox works under `/home/ubuntu/crabbox`. Every
 * emulated instance shares this machine's one filesystem, so the SSH gateway gives each its
 * own directory and makes `/home/ubuntu` mean that directory: in an exec request's command
 * text and in `env` values, the absolute path `/home/ubuntu` (alone or followed by `/...`)
 * becomes the instance's dir. crabbox then runs with its default work root, and two
 * instances never see each other's files.
 *
 * It is text substitution, not a mount: a command that builds the path from pieces
 * (`/home/$USER`) or prints `pwd` sees the real directory. Scripted use (crabbox's sync and
 * run, which pass paths as shell-quoted arguments) is what it is for.
 */
export const VIRTUAL_HOME = "/home/ubuntu"

/** Not preceded by a path character (so `/x/home/ubuntu` stays) nor followed by a name character (`/home/ubuntu2`). */
const pattern = new RegExp(`(?<![\\w./~-])${VIRTUAL_HOME.replace(/[/.]/g, "\\$&")}(?![\\w.-])`, "g")

export const mapVirtualHome = (text: string, home: string): string => text.replace(pattern, () => home)

/**
 * The real dir goes into command text unquoted as often as quoted, so it must need no
 * quoting itself.
 */
export const isPlainPath = (path: string): boolean => /^\/[A-Za-z0-9._/-]+$/.test(path)
