/** Port: SSH sessions to a lease. The ssh2 adapter and an in-memory twin implement it. */
import type { Duration, Effect, Scope, Sink, Stream } from "effect"
import { Context } from "effect"
import type { HostKeyMismatch, SshError } from "../domain/errors.js"
import type { HostKey, SshTarget } from "../domain/sshTarget.js"

export interface ExecRequest {
  /** Shell command line, run by the remote user's shell. */
  readonly command: string
  /** Variables exported before the command runs (inlined, so sshd's AcceptEnv does not matter). */
  readonly env?: Readonly<Record<string, string>>
  /** Allocate a PTY (interactive use). */
  readonly pty?: { readonly term: string; readonly cols: number; readonly rows: number }
}

export interface ExitStatus {
  /** Exit code; 128 + n when the remote process died of a signal and the code is unknown. */
  readonly code: number
  readonly signal?: string
}

/**
 * A running remote process. stdout and stderr must both be consumed (they apply
 * backpressure); `stdin` ends the remote stdin when the stream it is fed ends.
 */
export interface RemoteProcess {
  readonly stdout: Stream.Stream<Uint8Array, SshError>
  readonly stderr: Stream.Stream<Uint8Array, SshError>
  readonly stdin: Sink.Sink<void, Uint8Array, never, SshError>
  /** Resolves once the remote process exited and its output streams ended. */
  readonly exit: Effect.Effect<ExitStatus, SshError>
  /** Tell the remote PTY its new size (no-op without a PTY). */
  readonly resize: (cols: number, rows: number) => Effect.Effect<void>
}

export interface SshSession {
  /** The host key the server presented (pin it on first use). */
  readonly hostKey: HostKey
  /** Start a command; the channel closes when the scope does. */
  readonly exec: (request: ExecRequest) => Effect.Effect<RemoteProcess, SshError, Scope.Scope>
  /** Start an interactive login shell with a PTY. */
  readonly shell: (pty: NonNullable<ExecRequest["pty"]>) => Effect.Effect<RemoteProcess, SshError, Scope.Scope>
}

export class SshTransport extends Context.Tag("crabbox/SshTransport")<SshTransport, {
  /** Open an authenticated session (keep-alive on); refuses a host key that differs from the pin. */
  readonly connect: (target: SshTarget) => Effect.Effect<SshSession, SshError | HostKeyMismatch, Scope.Scope>
  /** Is SSH ready: connect, authenticate, run `true`, within `timeout`. */
  readonly probe: (target: SshTarget, timeout: Duration.DurationInput) => Effect.Effect<HostKey, SshError | HostKeyMismatch>
}>() {}
