/** Read-only checks for a compute provider: key present, list reachable (every page), failure classified. */
import { createHash } from "node:crypto"
import { Effect, Either } from "effect"
import type { CredentialsMissing } from "../../../domain/errors.js"
import type { ComputeApiService } from "../../../ports/ComputeApi.js"
import type { DoctorCheck } from "../backend.js"
import { listAll } from "./listAll.js"

const HINTS: Partial<Record<string, string>> = {
  auth: "the key was refused: check CRABBOX_FAL_KEY / FAL_KEY (an ADMIN-scoped key)",
  permission: "the key lacks compute access: fal Compute must be enabled for the account",
  "rate-limited": "rate limited: try again shortly",
  transport: "the API did not answer: check the network and the API URL",
  timeout: "the API did not answer in time",
  server: "the API had an internal error: try again shortly"
}

export const computeDoctor = (provider: string, api: Either.Either<ComputeApiService, CredentialsMissing>) =>
  Effect.gen(function* () {
    if (Either.isLeft(api)) {
      return [{ status: "missing", check: `${provider}-key`, message: api.left.message }] satisfies Array<DoctorCheck>
    }
    const checks: Array<DoctorCheck> = [{ status: "ok", check: `${provider}-key`, message: `provider=${provider} key present (from the environment)` }]
    const listed = yield* Effect.either(listAll(api.right))
    if (Either.isRight(listed)) {
      const ids = listed.right.map((i) => i.id).sort()
      const fingerprint = createHash("sha256").update(ids.join("\n")).digest("hex").slice(0, 16)
      checks.push({ status: "ok", check: `${provider}-api`, message: `provider=${provider} endpoint=${api.right.capabilities.endpoint} instances=${ids.length} fingerprint=${fingerprint} mutation=false` })
    } else {
      const e = listed.left
      checks.push({ status: "failed", check: `${provider}-api`, message: `provider=${provider} endpoint=${api.right.capabilities.endpoint} class=${e.kind}${e.status === undefined ? "" : ` status=${e.status}`}: ${e.message}${HINTS[e.kind] ? ` (${HINTS[e.kind]})` : ""}` })
    }
    return checks
  })
