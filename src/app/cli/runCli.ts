/**
 * Run the CLI with crabbox's process conventions: @effect/cli's own text (help, parse
 * errors) is captured so parse errors become one line on stderr with exit 2; every
 * tagged error becomes its exit code and one line on stderr.
 */
import { ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Exit, Option } from "effect"
import type { CrabboxError } from "../../domain/errors.js"
import { redact } from "../../domain/redact.js"
import { Stdio } from "../../ports/Stdio.js"
import { exitReport } from "./exitCodes.js"
import { cli } from "./main.js"
import { RemoteArgv, splitArgv } from "./remoteArgv.js"

const isCrabboxError = (e: unknown): e is CrabboxError =>
  typeof e === "object" && e !== null && "_tag" in e && typeof (e as { _tag: unknown })._tag === "string" &&
  !ValidationError.isValidationError(e)

// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

const capturingConsole = (base: Console.Console, lines: Array<string>): Console.Console => {
  const push = (...args: ReadonlyArray<unknown>) => Effect.sync(() => { lines.push(args.map(String).join(" ")) })
  return { ...base, log: push, info: push, error: push, warn: push, unsafe: { ...base.unsafe, log: (...a) => { lines.push(a.map(String).join(" ")) } } }
}

/** Runs argv (without node and script) and returns the process exit code. */
export const runCli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const { own, remote } = splitArgv(argv)
    const captured: Array<string> = []
    const base = yield* Console.consoleWith(Effect.succeed)
    const exit = yield* cli(["node", "crabbox", ...own]).pipe(
      Effect.provideService(RemoteArgv, remote),
      Console.withConsole(capturingConsole(base, captured)),
      Effect.exit
    )
    if (Exit.isSuccess(exit)) {
      for (const text of captured) yield* stdio.out(stdio.stdoutIsTty ? text : stripAnsi(text))
      return 0
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const e = failure.value as unknown
      if (ValidationError.isValidationError(e)) {
        const text = stripAnsi(captured.join(" ")).replace(/\s+/g, " ").trim() || e._tag
        const command = own.find((w) => !w.startsWith("-")) ?? ""
        yield* stdio.err(`crabbox: ${text} (see crabbox ${command ? `${command} ` : ""}--help)`)
        return 2
      }
      if (isCrabboxError(e)) {
        const report = exitReport(e)
        // the remote command already spoke for itself; a plain summary line is enough
        // pattern-based scrubbing (keys, tokens, URL userinfo) on the one line every error prints
        yield* stdio.err(e._tag === "RemoteCommandExit" ? report.message : `crabbox: ${redact(report.message, [])}`)
        return report.code
      }
    }
    if (Cause.isInterruptedOnly(exit.cause)) {
      yield* stdio.err("crabbox: interrupted")
      return 130
    }
    yield* stdio.err(`crabbox: internal error: ${Cause.pretty(exit.cause).split("\n")[0]}`)
    return 1
  })
