/** The command tree. `bin.ts` provides the layers and runs it. */
import { Command } from "@effect/cli"
import { cleanupCommand } from "./commands/cleanup.js"
import { configCommand } from "./commands/config.js"
import { doctorCommand } from "./commands/doctor.js"
import { emulatorCommand } from "./commands/emulator.js"
import { listCommand } from "./commands/list.js"
import { providersCommand } from "./commands/providers.js"
import { runCommand } from "./commands/run.js"
import { sshCommand } from "./commands/ssh.js"
import { statusCommand } from "./commands/status.js"
import { stopCommand } from "./commands/stop.js"
import { warmupCommand } from "./commands/warmup.js"

export const VERSION = "0.1.0"

export const rootCommand = Command.make("crabbox").pipe(
  Command.withDescription("warm a box, sync the diff, run the suite"),
  Command.withSubcommands([
    providersCommand, doctorCommand, warmupCommand, runCommand, sshCommand,
    statusCommand, listCommand, stopCommand, cleanupCommand, configCommand, emulatorCommand
  ])
)

export const cli = Command.run(rootCommand, { name: "crabbox", version: VERSION })
