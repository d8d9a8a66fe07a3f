/**
 * Archive sync into a Freestyle VM. The archive is extracted into a staging directory next
 * to the workspace and swapped in only after extraction succeeded, so a failed upload or
 * extract leaves the previous workspace as it was. Upload goes through the file API; when
 * that fails, through exec in 48 KiB pieces (base64), which needs nothing but a shell.
 */
import { Duration, Effect, Option, Random } from "effect"
import { CredentialsMissing, SyncError } from "../../../domain/errors.js"
import { shellQuote as q } from "../../../domain/shellQuote.js"
import { formatMiB } from "../../../domain/syncGuardrails.js"
import type { FreestyleApiError, FreestyleApiService } from "../../../ports/FreestyleApi.js"
import { runDetached } from "../../leases/detached.js"
import type { SyncArchive } from "../backend.js"
import { loginShell } from "./command.js"
import { fromApiError } from "./errors.js"

/** The file API takes the whole archive as one base64 JSON string: keep it bounded. */
export const MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
/** raw bytes per exec in the fallback (64 KiB of base64 text) */
export const CHUNK_BYTES = 48 * 1024
const STEP_TIMEOUT_MS = 10 * 60 * 1000
const CLEANUP_BUDGET = Duration.seconds(30)

export interface Remote {
  readonly api: FreestyleApiService
  readonly vmId: string
}

const hex6 = Effect.gen(function* () {
  let hex = ""
  for (let i = 0; i < 3; i++) hex += (yield* Random.nextIntBetween(0, 256)).toString(16).padStart(2, "0")
  return hex
})

const syncFailure = (e: FreestyleApiError): SyncError | CredentialsMissing => {
  const mapped = fromApiError(e)
  return mapped._tag === "CredentialsMissing" ? mapped : new SyncError({ message: e.message })
}

const tail = (bytes: Uint8Array): string => {
  const text = new TextDecoder().decode(bytes).trim()
  return text.length > 400 ? `...${text.slice(-400)}` : text
}

/**
 * One helper command. Errors name the step, never the command text (a chunk command is
 * 64 KiB of data); the remote stderr tail says what went wrong.
 */
export const helper = (remote: Remote, step: string, script: string) =>
  remote.api.exec(remote.vmId, { command: loginShell(script), timeoutMs: Option.some(STEP_TIMEOUT_MS) }).pipe(
    Effect.mapError(syncFailure),
    Effect.flatMap((r) => r.exitCode === 0
      ? Effect.void
      : Effect.fail(new SyncError({ message: `freestyle sync step "${step}" exited ${r.exitCode}${r.stderr.byteLength > 0 ? `: ${tail(r.stderr)}` : ""}` })))
  )

/** Cleanup that must not hide the real error, and runs even when the sync was interrupted. */
const bestEffort = (remote: Remote, step: string, script: string) =>
  runDetached(helper(remote, step, script).pipe(Effect.timeout(CLEANUP_BUDGET), Effect.ignore))

const extractInto = (archive: string, target: string) =>
  `tar -x -z -m -f ${q(archive)} -C ${q(target)}; status=$?; rm -f -- ${q(archive)}; exit $status`

const viaExec = (remote: Remote, bytes: Uint8Array, staging: string) =>
  Effect.gen(function* () {
    const sfx = yield* hex6
    const b64 = `/tmp/crabbox-${sfx}.tgz.b64`
    const tgz = `/tmp/crabbox-${sfx}.tgz`
    const upload = Effect.gen(function* () {
      yield* helper(remote, "clear upload files", `rm -f -- ${q(b64)} ${q(tgz)}`)
      const pieces = Math.max(1, Math.ceil(bytes.byteLength / CHUNK_BYTES))
      for (let i = 0; i < pieces; i++) {
        const piece = Buffer.from(bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)).toString("base64")
        yield* helper(remote, `upload archive chunk ${i + 1}/${pieces}`, `printf %s ${q(piece)} >> ${q(b64)}`)
      }
      yield* helper(remote, "decode and extract",
        `{ base64 -d ${q(b64)} > ${q(tgz)} 2>/dev/null || base64 --decode ${q(b64)} > ${q(tgz)}; } && ` +
        `${extractInto(tgz, staging)}`)
    })
    yield* upload.pipe(Effect.onError(() => bestEffort(remote, "remove upload files", `rm -f -- ${q(b64)} ${q(tgz)}`)))
  })

const uploadAndExtract = (remote: Remote, bytes: Uint8Array, staging: string, onProgress: (line: string) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const tmp = `/tmp/crabbox-${yield* hex6}.tgz`
    const written = yield* Effect.either(remote.api.writeFile(remote.vmId, tmp, bytes))
    if (written._tag === "Right") {
      return yield* helper(remote, "extract", extractInto(tmp, staging)).pipe(
        Effect.onError(() => bestEffort(remote, "remove upload file", `rm -f -- ${q(tmp)}`)))
    }
    yield* onProgress(`freestyle file API upload failed; falling back to exec upload: ${written.left.message}`)
    yield* bestEffort(remote, "remove upload file", `rm -f -- ${q(tmp)}`)
    yield* viaExec(remote, bytes, staging)
  })

const dirname = (path: string) => path.slice(0, path.lastIndexOf("/")) || "/"
const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1)

/**
 * Make `workspace` hold exactly the archive: extract into staging, then swap. The swap moves
 * the old tree aside, moves staging in, and moves the old tree back if that fails.
 */
export const syncArchive = (
  remote: Remote,
  input: { readonly workspace: string; readonly archive: SyncArchive; readonly onProgress: (line: string) => Effect.Effect<void> }
) =>
  Effect.gen(function* () {
    const { archive, workspace } = input
    if (archive.bytes.byteLength > MAX_ARCHIVE_BYTES) {
      return yield* new SyncError({ message: `freestyle sync archive exceeds ${MAX_ARCHIVE_BYTES} bytes after compression` })
    }
    const staging = `${dirname(workspace)}/.${basename(workspace)}.crabbox-sync-${yield* hex6}`
    const previous = `${staging}.previous`
    yield* input.onProgress(`sync: uploading ${formatMiB(archive.bytes.byteLength)} archive (${archive.files} files, ${formatMiB(archive.rawBytes)}) to ${workspace}`)
    const swap = [
      `rm -rf -- ${q(previous)} || exit $?`,
      `if [ -e ${q(workspace)} ] || [ -L ${q(workspace)} ]; then mv -- ${q(workspace)} ${q(previous)} || exit $?; fi`,
      `mv -- ${q(staging)} ${q(workspace)}`,
      "status=$?",
      `if [ $status -ne 0 ]; then if [ -e ${q(previous)} ]; then mv -- ${q(previous)} ${q(workspace)}; fi; exit $status; fi`
    ].join("\n")
    yield* Effect.gen(function* () {
      yield* helper(remote, "prepare staging", `rm -rf -- ${q(staging)} && mkdir -p -- ${q(staging)}`)
      yield* uploadAndExtract(remote, archive.bytes, staging, input.onProgress)
      yield* helper(remote, "replace workspace", swap)
    }).pipe(Effect.onError(() => bestEffort(remote, "remove staging", `rm -rf -- ${q(staging)}`)))
    yield* helper(remote, "remove previous workspace", `rm -rf -- ${q(previous)}`).pipe(
      Effect.catchAll((e) => input.onProgress(`warning: could not remove ${previous}: ${e.message}`)))
  })
