import { Command, Options } from "@effect/cli"
import { Duration, Effect, Either, Option } from "effect"
import { DURATION_SYNTAX, parseDuration } from "../../../domain/duration.js"
import { UsageError } from "../../../domain/errors.js"
import { formatHostKey } from "../../../domain/sshTarget.js"
import { Stdio } from "../../../ports/Stdio.js"
import { FalEmulator, type FalFault, type RunningFalEmulator } from "../falEmulator.js"
import { json } from "../options.js"

/** Any non-empty key will do; printed so the env line can be pasted as is. */
const EMULATOR_KEY = "emulator-key"

const FAULT_HELP =
  "inject a fault (repeatable): lose-create[:N], drop-create[:N], lose-delete[:N], " +
  "fail:<list|get|create|delete>:<status>[:N[:retry-after-s]], rate-limit:<op>[:N[:s]], fail-delete[:N], " +
  "never-ready, stopped[:<duration>], slow-ssh:<duration>"

const port = (name: string, description: string) =>
  Options.integer(name).pipe(Options.withDescription(description), Options.optional)

const duration = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

const validPort = (flag: string, value: Option.Option<number>) =>
  Option.match(value, {
    onNone: () => Effect.succeed({}),
    onSome: (n) => n >= 0 && n <= 65_535
      ? Effect.succeed(flag === "port" ? { port: n } : { sshPort: n })
      : new UsageError({ message: `--${flag} ${n} is not a port (0-65535; 0 picks a free one)` })
  })

const validDuration = <K extends string>(flag: string, field: K, value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed({}),
    onSome: (text) => Either.match(parseDuration(text), {
      onLeft: (why) => new UsageError({ message: `--${flag} ${JSON.stringify(text)}: ${why}`, hint: DURATION_SYNTAX }),
      onRight: (d) => Effect.succeed({ [field]: d } as { readonly [P in K]: Duration.Duration })
    })
  })

const envLine = (emulator: RunningFalEmulator) => ({
  CRABBOX_FAL_API_URL: emulator.apiUrl,
  CRABBOX_SSH_PORT: String(emulator.sshPort),
  FAL_KEY: EMULATOR_KEY
})

const falCommand = Command.make("fal", {
  port: port("port", "HTTP port on 127.0.0.1 (default: a free one)"),
  sshPort: port("ssh-port", "SSH port every instance shares (default: a free one)"),
  readyDelay: duration("ready-delay", "how long instances stay provisioning, e.g. 2s (default 1s)"),
  idempotencyWindow: duration("idempotency-window", "how long an Idempotency-Key replays its create (default 10m)"),
  fault: Options.text("fault").pipe(Options.withDescription(FAULT_HELP), Options.repeated),
  json
}, (o) =>
  Effect.gen(function* () {
    const emulators = yield* FalEmulator
    const stdio = yield* Stdio
    const faults: Array<FalFault> = []
    for (const text of o.fault) {
      const fault = emulators.parseFault(text)
      if (Either.isLeft(fault)) return yield* new UsageError({ message: fault.left })
      faults.push(fault.right)
    }
    const emulator = yield* emulators.start({
      ...(yield* validPort("port", o.port)),
      ...(yield* validPort("ssh-port", o.sshPort)),
      ...(yield* validDuration("ready-delay", "readyDelay", o.readyDelay)),
      ...(yield* validDuration("idempotency-window", "idempotencyWindow", o.idempotencyWindow)),
      faults,
      onRequest: (r) => stdio.err(`fal emulator: ${r.method} ${r.path} -> ${r.status}`)
    })
    const env = envLine(emulator)
    if (o.json) {
      yield* stdio.out(JSON.stringify({
        apiUrl: emulator.apiUrl,
        adminUrl: emulator.adminUrl,
        sshHost: emulator.sshHost,
        sshPort: emulator.sshPort,
        sshHostKey: formatHostKey(emulator.sshHostKey),
        root: emulator.root,
        virtualHome: emulator.virtualHome,
        faults: faults.map(emulators.formatFault),
        env
      }))
    } else {
      yield* stdio.out(`fal emulator: API ${emulator.apiUrl}, SSH ${emulator.sshHost}:${emulator.sshPort} (any user; the key given at create)`)
      yield* stdio.out(`admin: ${emulator.adminUrl}/instances, ${emulator.adminUrl}/faults, ${emulator.adminUrl}/requests`)
      yield* stdio.out(`each instance's ${emulator.virtualHome} is its own dir under ${emulator.root}/instances`)
      if (faults.length > 0) yield* stdio.out(`faults: ${faults.map(emulators.formatFault).join(" ")}`)
      yield* stdio.out("use it with:")
      yield* stdio.out(Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" "))
      yield* stdio.out("Ctrl-C stops it and removes every instance.")
    }
    return yield* Effect.never
  }).pipe(Effect.scoped)
).pipe(Command.withDescription("serve a fake fal Compute API on 127.0.0.1 whose instances answer SSH, until Ctrl-C"))

export const emulatorCommand = Command.make("emulator").pipe(
  Command.withDescription("local stand-ins for provider APIs, for trying crabbox and testing"),
  Command.withSubcommands([falCommand])
)
