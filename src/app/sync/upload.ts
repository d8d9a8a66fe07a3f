/**
 * Round trip 2 of a sync: one exec whose stdin is a short preamble (in-flight manifest,
 * delete lists, final manifest) followed by the tar of everything to upload. The remote
 * script (remoteScript.ts) installs the new manifest and fingerprint only after the
 * deletes and the extraction succeeded.
 */
import { Effect, Stream } from "effect"
import type { SshError, WorkspaceError } from "../../domain/errors.js"
import { SyncError } from "../../domain/errors.js"
import type { Manifest } from "../../domain/manifest.js"
import { inFlightManifest, type ManifestDiff, prunableDirectories } from "../../domain/manifestDiff.js"
import type { SshSession } from "../../ports/SshTransport.js"
import { marker, uploadCommand } from "./remoteScript.js"
import { runRemote } from "./remoteExec.js"
import { tarStream } from "./tarPack.js"

export interface UploadRequest {
  readonly workdir: string
  readonly metaDir: string
  readonly fingerprint: string
  readonly fullResync: boolean
  /** what the remote held before (empty on a full resync) */
  readonly previous: Manifest
  readonly next: Manifest
  readonly diff: ManifestDiff
  readonly read: (path: string) => Stream.Stream<Uint8Array, WorkspaceError>
}

const encoder = new TextEncoder()

/** NUL-terminated, the one separator no path can contain; read remotely with `xargs -0`. */
const nulList = (paths: ReadonlyArray<string>): Uint8Array => encoder.encode(paths.map((p) => `${p}\0`).join(""))

export const upload = (
  session: SshSession,
  request: UploadRequest
): Effect.Effect<void, SyncError | SshError | WorkspaceError> => {
  const inFlight = encoder.encode(JSON.stringify(inFlightManifest(request.previous, request.diff)))
  const removeList = nulList(request.diff.remove)
  const pruneList = nulList(prunableDirectories(request.diff.remove, request.next))
  const finalManifest = encoder.encode(JSON.stringify(request.next))
  const command = uploadCommand({
    workdir: request.workdir,
    metaDir: request.metaDir,
    fingerprint: request.fingerprint,
    fullResync: request.fullResync,
    sizes: {
      inFlightManifest: inFlight.byteLength,
      removeList: removeList.byteLength,
      pruneList: pruneList.byteLength,
      finalManifest: finalManifest.byteLength
    }
  })
  const stdin = Stream.concat(
    Stream.make(inFlight, removeList, pruneList, finalManifest).pipe(Stream.filter((part) => part.byteLength > 0)),
    tarStream(request.diff.upload, request.read)
  )
  return runRemote(session, "sync upload", command, stdin).pipe(
    Effect.filterOrFail(
      ({ stdout }) => stdout.includes(`${marker} done`),
      () => new SyncError({ message: "remote sync upload ended without confirming" })
    ),
    Effect.asVoid
  )
}
