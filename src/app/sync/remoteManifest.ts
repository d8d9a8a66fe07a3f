/**
 * Round trip 1 of a sync: ask the remote whether its fingerprint matches ours and, if
 * not, what it holds. The stored manifest comes from the box, so it is checked like
 * any input: a path that could leave the workdir stops the sync.
 */
import { Effect, Either, Schema, Stream } from "effect"
import type { SshError } from "../../domain/errors.js"
import { SyncError } from "../../domain/errors.js"
import { emptyManifest, type Manifest, ManifestJson } from "../../domain/manifest.js"
import { isSafeRelativePath } from "../../domain/syncPaths.js"
import type { SshSession } from "../../ports/SshTransport.js"
import { marker, probeCommand } from "./remoteScript.js"
import { runRemote } from "./remoteExec.js"

export type RemoteState =
  | { readonly _tag: "same" }
  /** `readable: false` when a manifest was there but did not decode */
  | { readonly _tag: "manifest"; readonly manifest: Manifest; readonly readable: boolean }

const parse = (stdout: string): Effect.Effect<RemoteState, SyncError> => {
  // Skip anything a login script printed before our marker.
  const start = stdout.indexOf(`${marker} `)
  if (start === -1) return Effect.fail(new SyncError({ message: "remote sync probe printed no answer" }))
  const lineEnd = stdout.indexOf("\n", start)
  const answer = stdout.slice(start + marker.length + 1, lineEnd === -1 ? undefined : lineEnd).trim()
  const body = lineEnd === -1 ? "" : stdout.slice(lineEnd + 1)
  switch (answer) {
    case "same":
      return Effect.succeed({ _tag: "same" })
    case "none":
      return Effect.succeed({ _tag: "manifest", manifest: emptyManifest, readable: true })
    case "manifest": {
      const decoded = Schema.decodeUnknownEither(ManifestJson)(body)
      return Effect.succeed(Either.isRight(decoded)
        ? { _tag: "manifest", manifest: decoded.right, readable: true }
        : { _tag: "manifest", manifest: emptyManifest, readable: false })
    }
    default:
      return Effect.fail(new SyncError({ message: `remote sync probe answered ${JSON.stringify(answer)}` }))
  }
}

const refuseUnsafe = (state: RemoteState): Effect.Effect<RemoteState, SyncError> => {
  if (state._tag === "same") return Effect.succeed(state)
  const unsafe = state.manifest.entries.find((e) => !isSafeRelativePath(e.path))
  return unsafe === undefined
    ? Effect.succeed(state)
    : Effect.fail(new SyncError({
      message: `remote sync manifest names an unsafe path ${JSON.stringify(unsafe.path)}; refusing to sync ` +
        "(use --full-resync to start the workdir over)"
    }))
}

export const probeRemote = (
  session: SshSession,
  p: { readonly workdir: string; readonly metaDir: string; readonly fingerprint: string }
): Effect.Effect<RemoteState, SyncError | SshError> =>
  runRemote(session, "sync probe", probeCommand(p), Stream.empty).pipe(
    Effect.flatMap(({ stdout }) => parse(stdout)),
    Effect.flatMap(refuseUnsafe)
  )
