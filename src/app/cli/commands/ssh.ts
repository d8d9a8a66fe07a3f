import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { RemoteCommandExit } from "../../../domain/errors.js"
import { sshWorkflow } from "../../workflows/sshSession.js"
import { idArg, idOption, oneIdentifier } from "../identifier.js"
import { flagRecord, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"
import { requireSshLease } from "../sshLease.js"

export const sshCommand = Command.make("ssh", {
  ...providerOptions,
  id: idOption,
  lease: idArg,
  print: Options.boolean("print").pipe(Options.withDescription("print an equivalent OpenSSH command instead of connecting")),
  reclaim: Options.boolean("reclaim").pipe(Options.withDescription("take over a lease claimed by another repository"))
}, (o) =>
  Effect.gen(function* () {
    const id = yield* oneIdentifier("ssh", o.id, o.lease)
    const ctx = yield* providerContext(flagRecord(o))
    const backend = yield* requireSshLease(ctx.backend, "ssh")
    const code = yield* sshWorkflow(backend, { id, repoRoot: ctx.repoRoot, repoName: ctx.repoName, reclaim: o.reclaim, print: o.print })
    if (code !== 0) return yield* new RemoteCommandExit({ code })
  })
).pipe(Command.withDescription("open an interactive shell on a lease (PTY over SSH), or --print an OpenSSH command"))
