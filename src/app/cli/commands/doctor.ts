import { Command } from "@effect/cli"
import { Effect } from "effect"
import { DoctorFailed } from "../../../domain/errors.js"
import { Stdio } from "../../../ports/Stdio.js"
import { doctorWorkflow } from "../../workflows/doctor.js"
import { flagRecord, json, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"

export const doctorCommand = Command.make("doctor", { ...providerOptions, json }, (o) =>
  Effect.gen(function* () {
    const ctx = yield* providerContext(flagRecord(o))
    const report = yield* doctorWorkflow(ctx.backend)
    const stdio = yield* Stdio
    if (o.json) yield* stdio.out(JSON.stringify(report))
    else for (const c of report.checks) yield* stdio.out(`${c.status} ${c.check} ${c.message}`)
    const failed = report.checks.filter((c) => c.status === "failed" || c.status === "missing").length
    if (failed > 0) return yield* new DoctorFailed({ failed })
  })
).pipe(Command.withDescription("read-only checks of local tools and the provider; changes nothing"))
