/** Sync's remote steps: a non-zero exit becomes a `SyncError` carrying the tail of stderr. */
import { Effect, type Stream } from "effect"
import { type SshError, SyncError } from "../../domain/errors.js"
import { runRemoteCommand } from "../leases/remoteCommand.js"
import type { SshSession } from "../../ports/SshTransport.js"

export interface RemoteOutput {
  readonly stdout: string
  readonly stderr: string
}

export const runRemote = <E>(
  session: SshSession,
  what: string,
  command: string,
  stdin: Stream.Stream<Uint8Array, E>
): Effect.Effect<RemoteOutput, E | SshError | SyncError> =>
  runRemoteCommand(session, command, stdin).pipe(
    Effect.filterOrFail(
      ({ status }) => status.code === 0,
      ({ status, stderr }) => new SyncError({
        message: `remote ${what} failed (exit ${status.code}${status.signal ? `, ${status.signal}` : ""})` +
          (stderr.trim() ? `: ${stderr.trim()}` : "")
      })
    ),
    Effect.map(({ stdout, stderr }) => ({ stdout, stderr }))
  )
