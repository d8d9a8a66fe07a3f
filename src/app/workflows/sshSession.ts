/**
 * `crabbox ssh`: an interactive PTY session over ssh2, or (`--print`) one pasteable
 * OpenSSH command with the lease's key and pinned known_hosts.
 */
import { Effect, Option, Stream } from "effect"
import { UsageError } from "../../domain/errors.js"
import { shellQuote } from "../../domain/shellQuote.js"
import { Stdio } from "../../ports/Stdio.js"
import { openSession, remoteWorkdir } from "../leases/openSession.js"
import type { LeaseTarget, SshLeaseBackend } from "../providers/backend.js"

export const openSshCommand = (lease: LeaseTarget): string => {
  const parts = ["ssh"]
  if (Option.isSome(lease.ssh.privateKeyPath)) parts.push("-i", shellQuote(lease.ssh.privateKeyPath.value), "-o", "IdentitiesOnly=yes")
  parts.push("-p", String(lease.ssh.port), "-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "ServerAliveInterval=15",
    "-o", "ServerAliveCountMax=2")
  if (Option.isSome(lease.ssh.knownHostsPath)) {
    parts.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${shellQuote(lease.ssh.knownHostsPath.value)}`)
  }
  parts.push(`${lease.ssh.user}@${lease.ssh.host}`)
  return parts.join(" ")
}

export const sshWorkflow = (
  backend: SshLeaseBackend,
  input: { readonly id: string; readonly repoRoot: string; readonly repoName: string; readonly reclaim: boolean; readonly print: boolean }
) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const resolved = yield* backend.resolve({ id: input.id, repoRoot: input.repoRoot, reclaim: input.reclaim })
    const lease = yield* backend.touch(resolved, "ready")
    if (input.print) {
      yield* stdio.out(openSshCommand(lease))
      return 0
    }
    if (Option.isNone(stdio.terminal)) {
      return yield* new UsageError({ message: "an interactive session needs a terminal on stdin and stdout", hint: "use --print for an OpenSSH command" })
    }
    const terminal = stdio.terminal.value
    return yield* Effect.scoped(Effect.gen(function* () {
      const session = yield* openSession(lease)
      const size = yield* terminal.size
      // a login shell in the lease's workdir when it exists (before the first sync it does not)
      const workdir = remoteWorkdir(lease, input.repoName)
      const proc = yield* session.exec({
        command: `cd ${shellQuote(workdir)} 2>/dev/null; exec "\${SHELL:-/bin/sh}" -l`,
        pty: { term: "xterm-256color", ...size }
      })
      yield* terminal.rawMode
      yield* stdio.err(`connected to ${lease.claim.slug}; workdir ${workdir}`)
      yield* Effect.forkScoped(Stream.run(terminal.input, proc.stdin).pipe(Effect.ignore))
      yield* Effect.all([Stream.run(proc.stdout, stdio.stdout), Stream.run(proc.stderr, stdio.stderr)], { concurrency: 2, discard: true })
      return (yield* proc.exit).code
    }))
  })
