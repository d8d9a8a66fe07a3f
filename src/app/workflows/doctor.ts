/** `crabbox doctor`: read-only checks of local tools, state and the provider. Never mutates. */
import { Command, CommandExecutor } from "@effect/platform"
import { Effect } from "effect"
import type { Backend, DoctorCheck } from "../providers/backend.js"

const toolCheck = (tool: string, args: ReadonlyArray<string>) =>
  Effect.flatMap(CommandExecutor.CommandExecutor, (exec) => exec.exitCode(Command.make(tool, ...args))).pipe(
    Effect.map((code): DoctorCheck => code === 0
      ? { status: "ok", check: `tool:${tool}`, message: `${tool} found` }
      : { status: "failed", check: `tool:${tool}`, message: `${tool} exited ${code}` }),
    Effect.catchAll(() => Effect.succeed<DoctorCheck>({ status: "missing", check: `tool:${tool}`, message: `${tool} not found on PATH` }))
  )

export const doctorWorkflow = (backend: Backend) =>
  Effect.gen(function* () {
    const local = yield* Effect.all([toolCheck("git", ["--version"])])
    const provider = backend.doctor
      ? yield* backend.doctor
      : [{ status: "skip" as const, check: "provider", message: `provider=${backend.spec.name} has no readiness checks` }]
    const checks = [...local, ...provider]
    return { ok: checks.every((c) => c.status !== "failed" && c.status !== "missing"), provider: backend.spec.name, checks }
  })
