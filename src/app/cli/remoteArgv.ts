/**
 * The words after the first `--` on the command line, split off before @effect/cli
 * parses anything, so a remote `--help` or `--version` is never taken as ours.
 */
import { Context } from "effect"

export class RemoteArgv extends Context.Tag("crabbox/RemoteArgv")<RemoteArgv, ReadonlyArray<string> | undefined>() {}

export const splitArgv = (argv: ReadonlyArray<string>): { readonly own: Array<string>; readonly remote: Array<string> | undefined } => {
  const at = argv.indexOf("--")
  return at < 0 ? { own: [...argv], remote: undefined } : { own: argv.slice(0, at), remote: argv.slice(at + 1) }
}
