/** Read-only checks for the ssh provider: key readable and private, host reachable with it. */
import { FileSystem } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import type { CredentialsMissing } from "../../../domain/errors.js"
import { SshTransport } from "../../../ports/SshTransport.js"
import type { DoctorCheck } from "../backend.js"
import type { StaticSshSettings } from "./StaticSshBackend.js"

export const staticSshDoctor = (
  settings: StaticSshSettings,
  privateKey: Effect.Effect<Redacted.Redacted<string>, CredentialsMissing>
) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const transport = yield* SshTransport
    const checks: Array<DoctorCheck> = []
    const info = yield* Effect.either(fs.stat(settings.keyPath))
    if (info._tag === "Left") {
      checks.push({ status: "missing", check: "ssh-key", message: `provider=ssh key=${settings.keyPath} not found; set ssh.key, CRABBOX_SSH_KEY or --ssh-key` })
    } else if ((info.right.mode & 0o077) !== 0) {
      checks.push({ status: "warning", check: "ssh-key", message: `provider=ssh key=${settings.keyPath} mode=${(info.right.mode & 0o777).toString(8)} (0600 expected)` })
    } else {
      checks.push({ status: "ok", check: "ssh-key", message: `provider=ssh key=${settings.keyPath}` })
    }
    if (Option.isNone(settings.host)) {
      checks.push({ status: "missing", check: "ssh-host", message: "provider=ssh host not set; set ssh.host, CRABBOX_SSH_HOST or --ssh-host" })
      return checks
    }
    const host = settings.host.value
    const key = yield* Effect.either(privateKey)
    if (key._tag === "Left") {
      checks.push({ status: "skip", check: "ssh-auth", message: `provider=ssh host=${host} skipped: no readable key` })
      return checks
    }
    // probe pins nothing and writes nothing: doctor stays read-only.
    const probe = yield* Effect.either(transport.probe(
      { host, port: settings.port, user: settings.user, privateKey: key.right, connectTimeoutMs: 10_000 }, "10 seconds"))
    checks.push(probe._tag === "Right"
      ? { status: "ok", check: "ssh-auth", message: `provider=ssh target=${settings.user}@${host}:${settings.port} auth=ready mutation=false` }
      : { status: "failed", check: "ssh-auth", message: `provider=ssh target=${settings.user}@${host}:${settings.port} class=${probe.left._tag === "SshError" ? probe.left.kind : "host-key"} ${probe.left.message}` })
    return checks
  })
