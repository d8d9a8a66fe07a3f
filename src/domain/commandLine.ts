/**
 * The command line sent over SSH for `run`. sshd hands it to the user's login shell, so
 * every word the user typed is single-quoted and reaches the remote process unchanged,
 * unless the user asked for (or clearly wrote) shell syntax.
 */
import { shellQuote } from "./shellQuote.js"

export interface CommandRequest {
  /** Absolute remote directory the command runs in. */
  readonly workdir: string
  /** The words after `--`. */
  readonly argv: ReadonlyArray<string>
  /** `--shell`: run the words as one shell script even if they look like plain argv. */
  readonly shell: boolean
}

export interface WrappedCommand {
  readonly command: string
  /** Whether the words were run as a shell script (asked for or detected). */
  readonly shellMode: boolean
}

/** Characters that only mean something to a shell: a word holding one was meant as a script. */
const SHELL_SYNTAX = /[\s&|;<>*$`()]/

/** Words that are shell operators when they stand alone (`make test && make lint`). */
const CONTROL_OPERATORS: ReadonlySet<string> = new Set(["&&", "||", ";", "|", ">", ">>", "<", "2>", "2>>"])

/** `FOO=1 make test`: a leading assignment only works in a shell. */
const LEADING_ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/

/**
 * Whether the words need a shell: one word holding whitespace or shell characters
 * (`"make test | tee log"` passed as a single argument), a leading `NAME=value`, or a
 * bare control operator anywhere.
 */
export const looksLikeShell = (argv: ReadonlyArray<string>): boolean =>
  (argv.length === 1 && SHELL_SYNTAX.test(argv[0]!)) ||
  (argv.length > 0 && LEADING_ASSIGNMENT.test(argv[0]!)) ||
  argv.some((word) => CONTROL_OPERATORS.has(word))

/**
 * Argv mode: `cd '<w>' && bash -lc 'cd '\''<w>'\'' && exec "$@"' bash '<arg1>' ...`.
 * Shell mode: `cd '<w>' && bash -lc 'cd '\''<w>'\'' && <words joined by spaces>'`.
 * The `cd` runs twice because a login shell's profile may `cd $HOME`. The first word
 * after the script (`bash`) becomes `$0`, so `"$@"` is exactly the user's argv.
 * Environment variables are not part of this line: the transport exports them first.
 */
export const wrapCommand = (request: CommandRequest): WrappedCommand => {
  const cd = `cd ${shellQuote(request.workdir)}`
  const shellMode = request.shell || looksLikeShell(request.argv)
  if (shellMode) {
    // An empty script would leave a dangling `&&`, a syntax error; only the cd remains.
    const script = request.argv.length === 0 ? cd : `${cd} && ${request.argv.join(" ")}`
    return { command: `${cd} && bash -lc ${shellQuote(script)}`, shellMode }
  }
  const args = request.argv.map((word) => ` ${shellQuote(word)}`).join("")
  return { command: `${cd} && bash -lc ${shellQuote(`${cd} && exec "$@"`)} bash${args}`, shellMode }
}
